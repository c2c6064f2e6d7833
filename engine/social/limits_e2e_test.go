package social_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Over real loopback: a user cannot be handed more pending group
// invitations than the cap (social_limit, 264), and the server stays
// healthy: the invitee can still accept one, the inviter still pings.
func TestE2EPendingInvitationsCapped(t *testing.T) {
	srv := startServer(t, "", social.Config{MaxPendingInvites: 2})
	owner, bob := register(t, srv, "owner"), register(t, srv, "bob")
	oc, bc := dial(t, srv, owner.Token), dial(t, srv, bob.Token)
	ctx := ctxT(t)

	var groups []uint64
	for i := range 3 {
		g, err := oc.CreateGroup(ctx, fmt.Sprintf("crew %d", i), frame.GroupInviteOnly)
		require.NoError(t, err)
		groups = append(groups, g.ID)
	}
	require.NoError(t, oc.InviteToGroup(ctx, groups[0], bob.UserID))
	require.NoError(t, oc.InviteToGroup(ctx, groups[1], bob.UserID))
	err := oc.InviteToGroup(ctx, groups[2], bob.UserID)
	require.Error(t, err)
	assert.Equal(t, netcode.CodeSocialLimit, netcode.CodeOf(err), "the third pending invitation is refused")
	assert.Equal(t, uint64(1), srv.Social().Stats().Refused.SocialLimit, "the refusal is counted")

	_, err = oc.Ping(ctx)
	require.NoError(t, err, "the inviter's session is healthy")
	require.NoError(t, bc.AcceptGroupInvite(ctx, groups[0]), "the invitee still acts on what it holds")
	require.NoError(t, oc.InviteToGroup(ctx, groups[2], bob.UserID), "accepting one frees a place")
}

// Over real loopback: a user in more groups than one frame can list gets
// the list in pages that each fit a frame, and the SDK reads them all.
func TestE2EGroupListCutToFitAFrame(t *testing.T) {
	const n = 600 // × ~100-byte entries: well above one frame's 48 KiB list budget
	srv := servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		Engine:     engine.Config{MaxFramesPerSecond: -1}, // 600 creations in a burst
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
		Social:     social.Config{MaxGroupsPerUser: n},
	})
	alice := register(t, srv, "alice")
	ac := dial(t, srv, alice.Token)
	// 600 stored creations one after another: each gets the usual wait,
	// not the whole loop (a loaded machine under -race takes >10 s).
	for i := range n {
		ctx := ctxT(t)
		name := fmt.Sprintf("%03d %s", i, strings.Repeat("g", frame.MaxGroupName-4))
		_, err := ac.CreateGroup(ctx, name, frame.GroupOpen)
		require.NoError(t, err)
	}

	ctx := ctxT(t)
	var first frame.GroupListResult
	m, err := ac.Call(ctx, &frame.GroupList{})
	require.NoError(t, err)
	require.NoError(t, m.Decode(&first))
	assert.True(t, first.More, "the first page says more follow")
	assert.Less(t, len(first.Groups), n, "the first page was cut")
	assert.LessOrEqual(t, len(m.Data), 64<<10, "a page fits a frame")

	all, err := ac.Groups(ctx)
	require.NoError(t, err)
	assert.Len(t, all, n, "the SDK follows the pages")
	assert.GreaterOrEqual(t, srv.Social().Stats().ListsCut, uint64(2), "each cut page is counted")
	_, err = ac.Ping(ctx)
	require.NoError(t, err)
}
