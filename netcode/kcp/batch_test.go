package kcp

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// TestWriteMessagesReliableBatch: a batch of reliable messages arrives
// whole and in order, sharing datagrams; a batch holding one message
// above the limit is refused before any of it is sent.
func TestWriteMessagesReliableBatch(t *testing.T) {
	client, server, _ := pair(t, Config{MaxMessageSize: 4096, Redundancy: RedundancyConfig{Disabled: true}})
	read := func(want [][]byte) {
		t.Helper()
		for i, w := range want {
			ch, got, err := server.ReadMessage()
			require.NoError(t, err)
			assert.Equal(t, netcode.Reliable, ch)
			require.Equal(t, w, got, "message %d", i)
		}
	}

	// 100 small frames (a tick's worth of queued pushes) share datagrams.
	var small [][]byte
	for i := range 100 {
		small = append(small, []byte(fmt.Sprintf("frame-%03d", i)))
	}
	sent0 := sentPackets(client)
	require.NoError(t, client.WriteMessages(netcode.Reliable, small))
	read(small)
	assert.LessOrEqual(t, int(sentPackets(client)-sent0), 4, "100 frames of 9 bytes fit one or two datagrams (plus acks or a report)")

	// Mixed sizes, some spanning segments, arrive whole and in order.
	var mixed [][]byte
	for i := range 40 {
		mixed = append(mixed, bytes.Repeat([]byte{byte(i)}, 1+i*50))
	}
	require.NoError(t, client.WriteMessages(netcode.Reliable, mixed))
	read(mixed)
	assert.EqualValues(t, 140, client.Stats().MessagesSent)

	err := client.WriteMessages(netcode.Reliable, [][]byte{[]byte("ok"), make([]byte, 4097)})
	require.ErrorIs(t, err, netcode.ErrMessageTooLarge)
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("after")))
	read([][]byte{[]byte("after")}) // nothing of the refused batch was sent

	require.ErrorIs(t, client.WriteMessages(netcode.Channel(7), small), netcode.ErrBadChannel)
}

// TestWriteMessagesUnreliable: unreliable messages go one datagram each.
func TestWriteMessagesUnreliable(t *testing.T) {
	client, server, _ := pair(t, Config{})
	var msgs [][]byte
	for i := range 3 {
		msgs = append(msgs, []byte(fmt.Sprintf("u%d", i)))
	}
	require.NoError(t, client.WriteMessages(netcode.Unreliable, msgs))
	for i := range 3 {
		ch, got, err := server.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, netcode.Unreliable, ch)
		assert.Equal(t, fmt.Sprintf("u%d", i), string(got))
	}
	err := client.WriteMessages(netcode.Unreliable, [][]byte{make([]byte, 1300)})
	require.ErrorIs(t, err, netcode.ErrMessageTooLarge)
}

// sentPackets is the number of datagrams c has sent (its last packet number plus one).
func sentPackets(c *Conn) uint32 {
	c.ep.lmu.Lock()
	defer c.ep.lmu.Unlock()
	return c.pn + 1
}
