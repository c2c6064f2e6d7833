package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

const socialWait = 10 * time.Second

type socialUser struct {
	Token  string `json:"token"`
	UserID string `json:"user_id"`
	c      *client.Client
}

func socialServer(t *testing.T) *server.Server {
	return servertest.Start(t, server.Config{
		Transports: tcpOnly(),
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
	})
}

func socialRegister(t *testing.T, srv *server.Server, name string) *socialUser {
	t.Helper()
	ctx := ctxT(t, socialWait)
	u := &socialUser{}
	require.NoError(t, client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": name, "password": "long enough pw"}, u))
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: u.Token, QueueSize: 1024})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	// The engine sends Welcome just before it tells the services about the
	// session; one round trip makes sure the social service knows it.
	_, err = c.Ping(ctx)
	require.NoError(t, err)
	u.c = c
	return u
}

// nextSocial returns the next social push of kind k from c, skipping others.
func nextSocial(t *testing.T, c *client.Client, k frame.Kind) frame.Frame {
	t.Helper()
	timeout := time.After(socialWait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			if m.Kind != k {
				continue
			}
			f, ok, err := client.DecodeSocial(m)
			require.True(t, ok)
			require.NoError(t, err)
			return f
		case <-timeout:
			t.Fatalf("no push of kind %d", k)
		}
	}
}

func TestSocialClientMethods(t *testing.T) {
	srv := socialServer(t)
	alice, bob := socialRegister(t, srv, "alice"), socialRegister(t, srv, "bob")
	ctx := ctxT(t, socialWait)
	a, b := alice.c, bob.c

	require.NoError(t, a.RequestFriend(ctx, "bob"))
	assert.Equal(t, frame.FriendIncoming, nextSocial(t, b, frame.KindFriendUpdate).(*frame.FriendUpdate).Friend.State)
	require.NoError(t, b.AcceptFriend(ctx, alice.UserID))
	friends, err := a.Friends(ctx)
	require.NoError(t, err)
	require.Len(t, friends, 1)
	assert.Equal(t, "bob", friends[0].Username)

	sent, err := a.SendDirect(ctx, bob.UserID, "hi")
	require.NoError(t, err)
	m := nextSocial(t, b, frame.KindMessage).(*frame.Message)
	assert.Equal(t, sent.ID, m.ID)
	require.NoError(t, b.AckMessages(m.ID))
	msgs, more, err := b.History(ctx, 0, alice.UserID, 0, 10)
	require.NoError(t, err)
	assert.False(t, more)
	require.Len(t, msgs, 1)
	assert.Equal(t, "hi", msgs[0].Body)

	require.NoError(t, b.SetPresence(ctx, frame.PresenceAway, "brb"))
	p := nextSocial(t, a, frame.KindPresenceUpdate).(*frame.PresenceUpdate)
	for p.Presence != frame.PresenceAway {
		p = nextSocial(t, a, frame.KindPresenceUpdate).(*frame.PresenceUpdate)
	}
	assert.Equal(t, "brb", p.StatusText)

	g, err := a.CreateGroup(ctx, "club", frame.GroupInviteOnly)
	require.NoError(t, err)
	require.NoError(t, a.InviteToGroup(ctx, g.ID, bob.UserID))
	require.NoError(t, b.DeclineGroupInvite(ctx, g.ID))
	require.NoError(t, a.InviteToGroup(ctx, g.ID, bob.UserID))
	groups, err := b.Groups(ctx)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	assert.Equal(t, frame.RoleInvited, groups[0].Role)
	require.NoError(t, b.AcceptGroupInvite(ctx, g.ID))
	require.NoError(t, a.SetGroupRole(ctx, g.ID, bob.UserID, frame.RoleAdmin))
	members, _, err := b.GroupMembers(ctx, g.ID, "", 10)
	require.NoError(t, err)
	roles := map[string]frame.Role{}
	for _, mb := range members {
		roles[mb.UserID] = mb.Role
	}
	assert.Equal(t, map[string]frame.Role{alice.UserID: frame.RoleOwner, bob.UserID: frame.RoleAdmin}, roles)
	gs, err := b.SendGroup(ctx, g.ID, "hello club")
	require.NoError(t, err)
	assert.Equal(t, gs.ID, nextSocial(t, a, frame.KindMessage).(*frame.Message).ID)
	require.ErrorIs(t, b.RemoveGroupMember(ctx, g.ID, alice.UserID), netcode.CodeNotGroupAdmin)
	require.NoError(t, a.RemoveGroupMember(ctx, g.ID, bob.UserID))
	require.ErrorIs(t, b.LeaveGroup(ctx, g.ID), netcode.CodeNotGroupMember)
	require.ErrorIs(t, b.JoinGroup(ctx, g.ID), netcode.CodeGroupInviteOnly)
}

func TestInboxDropsDuplicates(t *testing.T) {
	var in client.Inbox
	assert.True(t, in.Accept(&frame.Message{ChatMessage: frame.ChatMessage{ID: 3}}))
	assert.True(t, in.Accept(&frame.Message{ChatMessage: frame.ChatMessage{ID: 5}}))
	assert.False(t, in.Accept(&frame.Message{ChatMessage: frame.ChatMessage{ID: 5}}))
	assert.False(t, in.Accept(&frame.Message{ChatMessage: frame.ChatMessage{ID: 4}}))
	assert.Equal(t, uint64(5), in.Last())
}

func TestDecodeSocialIgnoresOtherKinds(t *testing.T) {
	b, err := frame.Marshal(&frame.Ping{})
	require.NoError(t, err)
	f, ok, err := client.DecodeSocial(client.Message{Kind: frame.KindPing, Data: b})
	assert.Nil(t, f)
	assert.False(t, ok)
	assert.NoError(t, err)
	_, ok, err = client.DecodeSocial(client.Message{Kind: frame.KindMessage, Data: []byte{0x91, 99}})
	assert.True(t, ok)
	assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err))
}
