package impair

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// echoServer accepts connections and echoes them until closed; the
// cleanup closes it and waits for every goroutine.
func echoServer(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c) // ends when either side goes
				_ = c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln
}

func tcpProxy(t *testing.T, target string, cfg Config) *TCPProxy {
	t.Helper()
	p, err := NewTCPProxy("127.0.0.1:0", target, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func dialProxy(t *testing.T, p *TCPProxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr().String(), waitFor)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(waitFor)))
	return c.(*net.TCPConn)
}

func TestTCPProxyDelay(t *testing.T) {
	const up, down = 30 * time.Millisecond, 20 * time.Millisecond
	p := tcpProxy(t, echoServer(t).Addr().String(), Config{
		Up:   Direction{Delay: up},
		Down: Direction{Delay: down, Jitter: 5 * time.Millisecond},
	})
	c := dialProxy(t, p)
	buf := make([]byte, 8)
	for i := 0; i < 5; i++ {
		start := time.Now()
		_, err := c.Write([]byte("ping1234"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		rtt := time.Since(start)
		assert.Equal(t, "ping1234", string(buf))
		assert.GreaterOrEqual(t, rtt, up+down-5*time.Millisecond)
		assert.Less(t, rtt, up+down+5*time.Millisecond+time.Second)
	}
	// The writer counts a chunk just after writing it.
	require.Eventually(t, func() bool {
		st := p.Stats()
		return st.Up.Bytes == 40 && st.Down.Bytes == 40
	}, waitFor, time.Millisecond)
	assert.Equal(t, 1, p.Stats().Clients)
}

// One-way delays over TCP, each direction on its own: the server end is
// a plain accepted socket, so each direction is timed separately.
func TestTCPProxyDelayEachDirection(t *testing.T) {
	const up, down = 40 * time.Millisecond, 10 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	p := tcpProxy(t, ln.Addr().String(), Config{Up: Direction{Delay: up}, Down: Direction{Delay: down}})
	c := dialProxy(t, p)
	require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(waitFor)))
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.SetDeadline(time.Now().Add(waitFor)))
	buf := make([]byte, 4)
	oneWay := func(from, to net.Conn) time.Duration {
		start := time.Now()
		_, err := from.Write([]byte("tick"))
		require.NoError(t, err)
		_, err = io.ReadFull(to, buf)
		require.NoError(t, err)
		return time.Since(start)
	}
	// Lower bounds hold for every sample; upper bounds are checked on the
	// fastest of five, so that one scheduling stall on a busy machine
	// cannot fail the test while a proxy that applied the wrong delay
	// still would.
	minUp, minDown := time.Hour, time.Hour
	for i := 0; i < 5; i++ {
		u := oneWay(c, s)
		assert.GreaterOrEqual(t, u, up)
		minUp = min(minUp, u)
		d := oneWay(s, c)
		assert.GreaterOrEqual(t, d, down)
		minDown = min(minDown, d)
	}
	assert.Less(t, minUp, up+time.Second)
	assert.Less(t, minDown, up, "the down direction has its own, shorter delay")
}

func TestTCPProxyKeepsBytesIntactAndOrdered(t *testing.T) {
	jittery := Direction{Delay: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}
	p := tcpProxy(t, echoServer(t).Addr().String(), Config{Up: jittery, Down: jittery, Seed: 5})
	c := dialProxy(t, p)
	data := make([]byte, 2<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	writeErr := make(chan error, 1)
	go func() {
		for off := 0; off < len(data); {
			n := min(len(data)-off, 1+rng.IntN(40000)) // uneven writes
			if _, err := c.Write(data[off : off+n]); err != nil {
				writeErr <- err
				return
			}
			off += n
		}
		writeErr <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c) // EOF travels back through both pumps
	require.NoError(t, err)
	require.NoError(t, <-writeErr)
	require.Equal(t, len(data), len(got))
	require.True(t, bytes.Equal(data, got), "bytes changed or reordered")
	require.Eventually(t, func() bool {
		st := p.Stats()
		return st.Up.Bytes == uint64(len(data)) && st.Down.Bytes == uint64(len(data))
	}, waitFor, time.Millisecond)
	st := p.Stats()
	assert.Zero(t, st.Up.TotalDropped()+st.Down.TotalDropped())
}

func TestTCPProxyThrottles(t *testing.T) {
	const bps, size = 200_000, 100_000 // 0.5 s of traffic down
	p := tcpProxy(t, echoServer(t).Addr().String(), Config{Down: Direction{BandwidthBps: bps}})
	c := dialProxy(t, p)
	data := bytes.Repeat([]byte("0123456789"), size/10)
	start := time.Now()
	_, err := c.Write(data)
	require.NoError(t, err)
	got := make([]byte, size)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	elapsed := time.Since(start)
	want := time.Duration(size) * time.Second / bps
	assert.GreaterOrEqual(t, elapsed, want*9/10)
	assert.Less(t, elapsed, want+2*time.Second)
	assert.Equal(t, data, got)
	// Chunks are small enough to throttle smoothly.
	assert.GreaterOrEqual(t, p.Stats().Down.Packets, uint64(size/(bps/100)))
}

func TestTCPProxyRefusesLoss(t *testing.T) {
	cfg := Config{Up: Direction{Loss: 0.02, Delay: time.Millisecond}, Down: Direction{Duplicate: 0.1}}
	_, err := NewTCPProxy("127.0.0.1:0", "127.0.0.1:1", cfg)
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "up loss")
	stripped, removed := cfg.ForTCP()
	assert.NotEmpty(t, removed)
	p, err := NewTCPProxy("127.0.0.1:0", "127.0.0.1:1", stripped)
	require.NoError(t, err)
	require.NoError(t, p.Close())
}

func TestTCPProxyCloseEndsConnections(t *testing.T) {
	p, err := NewTCPProxy("127.0.0.1:0", echoServer(t).Addr().String(), Config{Up: Direction{Delay: time.Hour}})
	require.NoError(t, err)
	c := dialProxy(t, p)
	_, err = c.Write([]byte("stuck in the proxy"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Stats().Up.Packets == 1 }, waitFor, time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(waitFor):
		require.FailNow(t, "Close hung")
	}
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	require.NoError(t, p.Close())
	_, err = net.DialTimeout("tcp", p.Addr().String(), time.Second)
	require.Error(t, err)
}

func TestTCPProxyUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	p := tcpProxy(t, addr, Config{})
	c := dialProxy(t, p)
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the client sees the refusal as a closed stream")
}

// The framed TCP transport passes the conformance suite through a
// delaying, jittering proxy.
func TestTCPTransportThroughProxy(t *testing.T) {
	ln, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	require.NoError(t, err)
	defer ln.Close()
	d := Direction{Delay: 3 * time.Millisecond, Jitter: 2 * time.Millisecond}
	p := tcpProxy(t, ln.Addr().String(), Config{Up: d, Down: d, Seed: 11})
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		accepted := make(chan netcode.Conn, 1)
		go func() {
			s, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- s
		}()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		c, err := tcp.Dial(ctx, p.Addr().String(), tcp.Config{})
		require.NoError(t, err)
		select {
		case s, ok := <-accepted:
			require.True(t, ok)
			return c, s
		case <-time.After(waitFor):
			_ = c.Close(netcode.CodeOK, "")
			require.FailNow(t, "accept timed out")
		}
		return nil, nil
	}, conntest.Options{})
	st := p.Stats()
	assert.Positive(t, st.Up.Bytes)
	assert.Positive(t, st.Down.Bytes)
}
