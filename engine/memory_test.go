package engine

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// leanQueuer is a Queuer over an in-memory link that keeps nothing of
// its own: QueueMessages writes to the peer at once, Flush does nothing.
// Its memory is the link's, measured before the engine sees it.
type leanQueuer struct{ *memConn }

func (c leanQueuer) QueueMessages(ch netcode.Channel, msgs [][]byte) error {
	for _, p := range msgs {
		if err := c.memConn.WriteMessage(ch, p); err != nil {
			return err
		}
	}
	return nil
}

func (leanQueuer) Flush() {}

// BenchmarkIdleSessionMemory reports what the engine holds per open,
// idle, authenticated session (idleSessions of them), without any
// transport: heap (session, decoder, encoder, logger, limiter, timer,
// goroutine descriptors; no services) and goroutine stacks, as deltas
// over the in-memory links alone, which are made before the engine sees
// them (the server end's last message read, the Hello, stays in).
// The clients are driven in the benchmark's goroutine (no client
// goroutines). "direct" runs the sessions on a Queuer, as KCP's; "writer"
// on a plain Conn (TCP, WebSocket), with a writer goroutine each. The
// stacks are read before the collection that measures the heap (a
// collection shrinks idle stacks; a server that has not collected since
// its sessions arrived holds them as they grew). The transport's own
// memory is not here: tickbench connect --hold reports a server's whole
// RSS per session.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const idleSessions = 2000
	for _, mode := range []string{"direct", "writer"} {
		b.Run(mode, func(b *testing.B) {
			var heap, stack, goroutines float64
			runs := 0
			for b.Loop() {
				h, s, g := idleSessionMemory(b, mode == "direct", idleSessions)
				heap, stack, goroutines = heap+h, stack+s, goroutines+g
				runs++
			}
			n := float64(runs * idleSessions)
			b.ReportMetric(heap/n, "heap-B/session")
			b.ReportMetric(stack/n, "stack-B/session")
			b.ReportMetric(goroutines/n, "goroutines/session")
		})
	}
}

func idleSessionMemory(b *testing.B, direct bool, sessions int) (heap, stack, goroutines float64) {
	b.StopTimer()
	defer b.StartTimer()
	e, err := New(Config{MaxSessions: -1, CloseLinger: time.Millisecond, Services: nil})
	require.NoError(b, err)
	l := newMemListener()
	require.NoError(b, e.Serve(l))
	run := make(chan error, 1)
	go func() { run <- e.Run(context.Background()) }()
	tok, _, err := e.Signer().Issue(auth.Claims{UserID: "u_idle", Name: "idle"}, time.Now(), time.Hour)
	require.NoError(b, err)
	hello, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: tok, ClientName: "bench", ClientVersion: "1"})
	require.NoError(b, err)

	clients := make([]*memConn, sessions)
	servers := make([]netcode.Conn, sessions)
	for i := range clients {
		c, s := memPair(4)
		clients[i] = c
		servers[i] = s
		if direct {
			servers[i] = leanQueuer{s}
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	for i, c := range clients {
		l.conns <- servers[i]
		require.NoError(b, c.WriteMessage(netcode.Reliable, hello))
		_, m, err := c.ReadMessage()
		require.NoError(b, err)
		k, err := frame.Peek(m)
		require.NoError(b, err)
		require.Equal(b, frame.KindWelcome, k)
	}
	for e.c.handshakes.Load() < uint64(sessions) {
		runtime.Gosched()
	}
	for _, c := range clients {
		c.last = nil // the client's copy of its Welcome is not the server's
	}
	g1 := runtime.NumGoroutine()
	runtime.ReadMemStats(&after)
	stack = float64(after.StackInuse) - float64(before.StackInuse)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
	goroutines = float64(g1 - g0)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(b, e.Shutdown(ctx))
	require.ErrorIs(b, <-run, ErrServerClosed)
	runtime.KeepAlive(clients)
	return heap, stack, goroutines
}
