package kcp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// ListenerStats reports handshakes, refusals by reason and drops in the
// transport-neutral shape the engine serves.
func TestListenerStatsRefusalsByReason(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{MaxSessionsPerIP: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c1, err := Dial(ctx, l.Addr().String(), Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c1.Close(netcode.CodeOK, "") })
	_, err = Dial(ctx, l.Addr().String(), Config{})
	require.ErrorIs(t, err, netcode.ErrHandshake)

	pc := rawSocket(t)
	_, err = pc.WriteTo([]byte{typeKCP, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0xaa}, l.Addr())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return l.ListenerStats().Drops["unauthenticated"] >= 1 }, 5*time.Second, time.Millisecond)

	st := l.ListenerStats()
	assert.Equal(t, "kcp", st.Transport)
	assert.Equal(t, l.Addr().String(), st.Addr)
	assert.Equal(t, 1, st.Sessions)
	assert.GreaterOrEqual(t, st.HandshakesStarted, uint64(2), "one cookie per handshake, more if a Hello was repeated")
	assert.EqualValues(t, 1, st.Accepted)
	assert.EqualValues(t, 1, st.Refused["per_ip"])
	assert.Zero(t, st.Refused["max_sessions"])
	assert.EqualValues(t, l.Stats().Drops[netcode.DropUnauthenticated], st.Drops["unauthenticated"])
}

// The listener counts its datagrams and system calls: a reply to many
// sessions at once goes in fewer write calls than datagrams.
func TestListenerStatsIO(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{Loops: 1, Redundancy: RedundancyConfig{Disabled: true}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	sock, err := NewClientSocket("127.0.0.1:0", Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sock.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const n = 20
	var srv []*Conn
	for range n {
		_, err := sock.Dial(ctx, l.Addr().String())
		require.NoError(t, err)
		s, err := l.AcceptKCP()
		require.NoError(t, err)
		srv = append(srv, s)
	}
	before := l.ListenerStats().IO
	for _, s := range srv {
		require.NoError(t, s.QueueMessages(netcode.Reliable, [][]byte{[]byte("tick")}))
	}
	srv[0].Flush()
	after := l.ListenerStats().IO
	assert.GreaterOrEqual(t, after["datagrams_out"]-before["datagrams_out"], uint64(n), "one datagram per session at least")
	assert.Less(t, after["write_calls"]-before["write_calls"], uint64(n)/2, "the pass's datagrams leave in batches, not one call each")
	assert.Positive(t, after["datagrams_in"])
	assert.Positive(t, after["read_calls"])
	assert.LessOrEqual(t, after["read_calls"], after["datagrams_in"])
}
