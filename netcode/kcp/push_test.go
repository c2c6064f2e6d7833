package kcp

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// recorder is a Receiver that records what it is given and checks that
// its calls never overlap.
type recorder struct {
	in      atomic.Int32
	overlap atomic.Bool
	mu      sync.Mutex // guards msgs, chans and ended
	msgs    []string
	chans   []netcode.Channel
	ended   []error
	got     chan struct{} // capacity 1: something arrived
	onMsg   func(msg string)
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1)} }

func (r *recorder) enter() {
	if r.in.Add(1) != 1 {
		r.overlap.Store(true)
	}
}

func (r *recorder) Receive(ch netcode.Channel, msg []byte) {
	r.enter()
	defer r.in.Add(-1)
	r.mu.Lock()
	r.msgs = append(r.msgs, string(msg))
	r.chans = append(r.chans, ch)
	r.mu.Unlock()
	if r.onMsg != nil {
		r.onMsg(string(msg))
	}
	signal(r.got)
}

func (r *recorder) Ended(err error) {
	r.enter()
	defer r.in.Add(-1)
	r.mu.Lock()
	r.ended = append(r.ended, err)
	r.mu.Unlock()
	signal(r.got)
}

// snap copies the recorder's state under its lock: the test goroutine
// must not read the slices while the loop may append to them (the socket
// between them is no synchronisation the race detector can see).
func (r *recorder) snap() (msgs []string, chans []netcode.Channel, ended []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs), slices.Clone(r.chans), slices.Clone(r.ended)
}

// waitFor waits (bounded) until cond holds on the recorder's state.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestPushDeliversInOrderThenTheEnd: messages that arrived before Push
// come first, then later ones, on both channels, never two calls at once;
// ReadMessage is refused; the peer's close arrives once, as Ended.
func TestPushDeliversInOrderThenTheEnd(t *testing.T) {
	client, server, _ := pair(t, Config{})
	var early [][]byte
	for i := range 5 {
		early = append(early, fmt.Appendf(nil, "early %d", i))
	}
	require.NoError(t, client.WriteMessages(netcode.Reliable, early)) // one KCP message: all or none
	// Wait until the server holds them before Push (they sit in its core).
	require.Eventually(t, func() bool {
		server.ep.lmu.Lock()
		defer server.ep.lmu.Unlock()
		return server.ls.PeekSize() >= 0
	}, 5*time.Second, time.Millisecond)

	r := newRecorder()
	server.Push(r)
	_, _, err := server.ReadMessage()
	require.ErrorIs(t, err, errPushed)
	for i := range 20 {
		require.NoError(t, client.WriteMessage(netcode.Reliable, fmt.Appendf(nil, "late %d", i)))
	}
	r.waitFor(t, "25 messages", func() bool { return len(r.msgs) == 25 })
	msgs, _, _ := r.snap()
	for i := range 5 {
		assert.Equal(t, fmt.Sprintf("early %d", i), msgs[i])
	}
	for i := range 20 {
		assert.Equal(t, fmt.Sprintf("late %d", i), msgs[5+i])
	}
	require.NoError(t, client.WriteMessage(netcode.Unreliable, []byte("fast")))
	r.waitFor(t, "the unreliable message", func() bool { return len(r.msgs) == 26 })
	msgs, chans, _ := r.snap()
	assert.Equal(t, "fast", msgs[25])
	assert.Equal(t, netcode.Unreliable, chans[25])

	require.NoError(t, client.Close(netcode.CodeOK, "bye"))
	r.waitFor(t, "the end", func() bool { return len(r.ended) == 1 })
	var ce *netcode.CloseError
	_, _, ended := r.snap()
	require.ErrorAs(t, ended[0], &ce)
	assert.Equal(t, "bye", ce.Reason)
	require.NoError(t, server.Close(netcode.CodeOK, "")) // after the end: nothing more
	assert.False(t, r.overlap.Load(), "calls for one Conn overlapped")
	r.mu.Lock()
	assert.Len(t, r.ended, 1, "Ended exactly once")
	r.mu.Unlock()
}

// TestPushReceiverMayReplyAndClose: a Receiver writes back and closes its
// Conn from inside Receive (on the loop's goroutine) without deadlock;
// it then hears its own end, ErrClosed.
func TestPushReceiverMayReplyAndClose(t *testing.T) {
	client, server, _ := pair(t, Config{})
	r := newRecorder()
	r.onMsg = func(msg string) {
		require.NoError(t, server.QueueMessages(netcode.Reliable, [][]byte{[]byte("echo " + msg)}))
		server.Flush()
		if msg == "last" {
			require.NoError(t, server.Close(netcode.CodeOK, "done"))
		}
	}
	server.Push(r)
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("one")))
	_, got, err := client.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "echo one", string(got))
	require.NoError(t, client.WriteMessage(netcode.Reliable, []byte("last")))
	r.waitFor(t, "the end", func() bool { return len(r.ended) == 1 })
	_, _, ended := r.snap()
	require.ErrorIs(t, ended[0], netcode.ErrClosed)
	assert.False(t, r.overlap.Load())
}

// TestPushIdleTimeoutEnds: a pushed session whose peer goes silent ends
// with the idle timeout, told once.
func TestPushIdleTimeoutEnds(t *testing.T) {
	l, err := Listen("127.0.0.1:0", Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Shutdown(context.Background())) })
	pc := rawSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := DialPacket(ctx, pc, l.Addr(), Config{HeartbeatInterval: 50 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	server, err := l.AcceptKCP()
	require.NoError(t, err)
	r := newRecorder()
	server.Push(r)
	client.ep.shutdown() // the client vanishes without a word: its socket closes, no Close datagram
	client.ep.wait()
	r.waitFor(t, "the idle timeout", func() bool { return len(r.ended) == 1 })
	_, _, ended := r.snap()
	require.ErrorIs(t, ended[0], netcode.ErrIdleTimeout)
}
