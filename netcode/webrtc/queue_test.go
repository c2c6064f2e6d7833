package webrtc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestUnreliableQueue(t *testing.T) {
	q := unreliableQueue{slots: make([][]byte, 3)}
	push := func(seq uint32) (netcode.DropReason, bool) { return q.push(seq, []byte{byte(seq)}) }
	_, dropped := push(10)
	require.False(t, dropped)
	reason, dropped := push(10)
	require.True(t, dropped)
	assert.Equal(t, netcode.DropStale, reason, "a repeat is stale")
	reason, dropped = push(9)
	require.True(t, dropped)
	assert.Equal(t, netcode.DropStale, reason, "an older one is stale")
	push(11)
	push(12)
	reason, dropped = push(13)
	require.True(t, dropped)
	assert.Equal(t, netcode.DropQueueFull, reason, "a full queue drops its oldest")
	var spare []byte
	for _, want := range []byte{11, 12, 13} {
		msg, ok := q.pop(spare)
		require.True(t, ok)
		assert.Equal(t, []byte{want}, msg)
		spare = msg
	}
	_, ok := q.pop(spare)
	assert.False(t, ok)

	// Sequence numbers wrap: 0 is newer than 0xFFFFFFFF.
	q = unreliableQueue{slots: make([][]byte, 3)}
	push(0xFFFFFFFF)
	_, dropped = push(0)
	assert.False(t, dropped)
	assert.True(t, seqNewer(5, 0xFFFFFFF0))
	assert.False(t, seqNewer(0xFFFFFFF0, 5))
}

// A steady stream through the queue allocates nothing once the slots
// have grown.
func TestUnreliableQueueAllocs(t *testing.T) {
	q := unreliableQueue{slots: make([][]byte, 4)}
	msg := make([]byte, 200)
	var spare []byte
	seq := uint32(0)
	step := func() {
		seq++
		q.push(seq, msg)
		spare, _ = q.pop(spare)
	}
	for i := 0; i < 10; i++ {
		step()
	}
	assert.Zero(t, testing.AllocsPerRun(200, step))
}
