package engine

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// batchConn records how the session writer hands frames over: whole runs
// through WriteMessages, single frames through WriteMessage. It refuses
// messages above limit, checking a whole run first, like the KCP Conn.
type batchConn struct {
	limit  int
	calls  []string
	frames []string
}

func (c *batchConn) WriteMessage(ch netcode.Channel, p []byte) error {
	if len(p) > c.limit {
		return netcode.ErrMessageTooLarge
	}
	c.calls = append(c.calls, fmt.Sprintf("one ch%d", ch))
	c.frames = append(c.frames, string(p))
	return nil
}

func (c *batchConn) WriteMessages(ch netcode.Channel, msgs [][]byte) error {
	for _, p := range msgs {
		if len(p) > c.limit {
			return netcode.ErrMessageTooLarge
		}
	}
	c.calls = append(c.calls, fmt.Sprintf("run ch%d x%d", ch, len(msgs)))
	for _, p := range msgs {
		c.frames = append(c.frames, string(p))
	}
	return nil
}

func (c *batchConn) ReadMessage() (netcode.Channel, []byte, error) { return 0, nil, netcode.ErrClosed }
func (c *batchConn) Close(netcode.Code, string) error              { return nil }
func (c *batchConn) Stats() netcode.Stats                          { return netcode.Stats{} }
func (c *batchConn) Transport() string                             { return "batch" }
func (c *batchConn) LocalAddr() net.Addr                           { return memAddr("local") }
func (c *batchConn) RemoteAddr() net.Addr                          { return memAddr("remote") }

// TestWriterBatchesQueuedFrames: frames queued together are written as one
// WriteMessages call per channel, in queue order; a run holding a frame
// too large for the transport falls back to frame-by-frame writes, where
// that frame alone is promoted (unreliable) or dropped (reliable).
func TestWriterBatchesQueuedFrames(t *testing.T) {
	e, err := New(Config{})
	require.NoError(t, err)
	conn := &batchConn{limit: 8}
	s := &session{e: e, conn: conn}
	s.q.rel, s.q.unrel = newRing(16), newRing(16)
	push := func(ch netcode.Channel, b string) {
		res, _ := s.q.push(outFrame{ch: ch, b: []byte(b)})
		require.Equal(t, pushed, res)
	}

	push(netcode.Reliable, "r1")
	push(netcode.Reliable, "r2")
	push(netcode.Reliable, "r3")
	push(netcode.Unreliable, "u1")
	batch, err := s.writeBatch(nil)
	require.NoError(t, err)
	assert.Empty(t, batch)
	assert.Equal(t, []string{"run ch0 x3", "one ch1"}, conn.calls)
	assert.Equal(t, []string{"r1", "r2", "r3", "u1"}, conn.frames)
	assert.EqualValues(t, 4, s.framesOut())

	conn.calls, conn.frames = nil, nil
	push(netcode.Reliable, "r4")
	push(netcode.Reliable, "far-too-large")
	push(netcode.Reliable, "r5")
	push(netcode.Unreliable, "u2")
	push(netcode.Unreliable, "unrel-too-large") // promoted to reliable, still too large: dropped
	_, err = s.writeBatch(batch)
	require.NoError(t, err)
	assert.Equal(t, []string{"r4", "r5", "u2"}, conn.frames)
	assert.Equal(t, []string{"one ch0", "one ch0", "one ch1"}, conn.calls)
	assert.EqualValues(t, 2, e.c.drops[dropTooLarge].Load())
	assert.EqualValues(t, 1, e.c.drops[promotedTooLarge].Load())
}
