package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The replay buffer keeps the frames numbered sent-n+1..sent, bounded
// by frames and bytes; what it can replay is exactly what it kept.
func TestReplayBufBounds(t *testing.T) {
	var r replayBuf
	var sent uint64
	push := func(size int) bool {
		sent++
		return r.push(make([]byte, size), 4, 100)
	}
	for range 4 {
		require.False(t, push(10))
	}
	assert.Equal(t, 4, r.n)
	assert.Equal(t, 40, r.bytes)
	assert.True(t, r.canReplayFrom(0, sent), "frames 1..4 all kept")
	assert.Len(t, r.after(0, sent), 4)

	assert.True(t, push(10), "a fifth frame drops the oldest")
	assert.False(t, r.canReplayFrom(0, sent), "frame 1 is gone")
	assert.True(t, r.canReplayFrom(1, sent))
	assert.Equal(t, uint64(2), r.first(sent))

	assert.True(t, push(90), "90 more bytes than the cap allows drop until it fits")
	assert.LessOrEqual(t, r.bytes, 100)
	assert.Equal(t, 2, r.n, "frames 5 (10 bytes) and 6 (90 bytes)")
	assert.False(t, r.canReplayFrom(3, sent))
	assert.True(t, r.canReplayFrom(4, sent))

	r.ack(sent, sent)
	assert.Zero(t, r.n)
	assert.Zero(t, r.bytes)
	assert.True(t, r.canReplayFrom(sent, sent), "nothing to replay after everything was acknowledged")
	assert.Empty(t, r.after(sent, sent))
}

// after returns the frames after n in order, by reference.
func TestReplayBufAfterKeepsOrderAndReferences(t *testing.T) {
	var r replayBuf
	frames := make([][]byte, 0, 20)
	for i := range 20 {
		b := []byte{byte(i)}
		frames = append(frames, b)
		r.push(b, 8, 1<<20)
	}
	sent := uint64(20)
	r.ack(14, sent) // frames 15..20 left
	got := r.after(16, sent)
	require.Len(t, got, 4)
	for i, b := range got {
		assert.Same(t, &frames[16+i][0], &b[0], "frame %d kept by reference", 17+i)
	}
}
