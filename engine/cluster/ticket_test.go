package cluster

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testKey = bytes.Repeat([]byte{7}, 32)

func newTestTickets(t *testing.T, node string, clk *fakeClock) *Tickets {
	t.Helper()
	tk, err := NewTickets(TicketConfig{Key: testKey, NodeID: node, Boot: 7, TTL: 10 * time.Second, MaxRedeemed: 4, Clock: clk.now})
	require.NoError(t, err)
	return tk
}

func TestTicketRedeem(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	issuer := newTestTickets(t, "b", clk) // the redirecting node
	owner := newTestTickets(t, "a", clk)  // the room's node

	tk, err := issuer.Issue("u1", 42, "a", 7)
	require.NoError(t, err)
	d, err := DecodeTicket(tk)
	require.NoError(t, err)
	assert.Equal(t, Ticket{Expiry: clk.now().Add(10 * time.Second), RoomID: 42, Nonce: d.Nonce, Boot: 7, NodeID: "a", UserID: "u1"}, d)

	code := func(err error) netcode.Code { return netcode.CodeOf(err) }
	assert.Equal(t, netcode.CodeBadTicket, code(owner.Redeem("u2", 42, tk)), "another user")
	assert.Equal(t, netcode.CodeBadTicket, code(owner.Redeem("u1", 43, tk)), "another room")
	assert.Equal(t, netcode.CodeBadTicket, code(issuer.Redeem("u1", 42, tk)), "another node")
	restarted, err := NewTickets(TicketConfig{Key: testKey, NodeID: "a", Boot: 8, Clock: clk.now})
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeBadTicket, code(restarted.Redeem("u1", 42, tk)), "the owner restarted: it forgot what it redeemed")
	forged := bytes.Clone(tk)
	forged[10] ^= 1
	assert.Equal(t, netcode.CodeBadTicket, code(owner.Redeem("u1", 42, forged)), "a flipped bit")
	otherKey, err := NewTickets(TicketConfig{Key: bytes.Repeat([]byte{8}, 32), NodeID: "b", Clock: clk.now})
	require.NoError(t, err)
	foreign, err := otherKey.Issue("u1", 42, "a", 7)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeBadTicket, code(owner.Redeem("u1", 42, foreign)), "another cluster's key")

	require.NoError(t, owner.Redeem("u1", 42, tk))
	assert.Equal(t, netcode.CodeTicketReused, code(owner.Redeem("u1", 42, tk)), "single use")

	late, err := issuer.Issue("u1", 42, "a", 7)
	require.NoError(t, err)
	clk.add(10 * time.Second)
	assert.Equal(t, netcode.CodeTicketExpired, code(owner.Redeem("u1", 42, late)), "expired exactly at TTL")

	st := owner.Stats()
	assert.Equal(t, TicketStats{Redeemed: 1, RefusedBad: 4, RefusedExpired: 1, RefusedReused: 1, Outstanding: 1}, st)
	owner.sweep()
	assert.Equal(t, 0, owner.Stats().Outstanding, "used tickets are forgotten once expired")
}

// The used-ticket set is bounded: past it a redemption is refused (busy)
// until tickets expire.
func TestTicketUsedSetBounded(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tks := newTestTickets(t, "a", clk)
	for i := range 4 {
		tk, err := tks.Issue("u", uint64(i), "a", 7)
		require.NoError(t, err)
		require.NoError(t, tks.Redeem("u", uint64(i), tk))
	}
	tk, err := tks.Issue("u", 9, "a", 7)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeServerBusy, netcode.CodeOf(tks.Redeem("u", 9, tk)))
	clk.add(10 * time.Second)
	tk, err = tks.Issue("u", 9, "a", 7)
	require.NoError(t, err)
	require.NoError(t, tks.Redeem("u", 9, tk))
}

func FuzzDecodeTicket(f *testing.F) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tks, err := NewTickets(TicketConfig{Key: testKey, NodeID: "a", Boot: 7, Clock: clk.now})
	require.NoError(f, err)
	good, err := tks.Issue("user-1", 42, "a", 7)
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte{1})
	f.Add(bytes.Repeat([]byte{0xff}, MaxTicketLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeTicket(b)
		if err != nil {
			assert.Equal(t, netcode.CodeBadTicket, netcode.CodeOf(tks.Redeem("user-1", 42, b)))
			return
		}
		assert.LessOrEqual(t, len(b), MaxTicketLen)
		assert.LessOrEqual(t, len(d.NodeID)+len(d.UserID), len(b))
		if tks.Redeem(d.UserID, d.RoomID, b) == nil {
			// Only a ticket the key signed passes: the seed (issued in
			// this process or, under -fuzz, in the coordinator, with the
			// same key and clock), never a mutation of it.
			assert.Equal(t, Ticket{Expiry: d.Expiry, RoomID: 42, Nonce: d.Nonce, Boot: 7, NodeID: "a", UserID: "user-1"}, d)
		}
	})
}
