package webrtc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/kcp"
)

func kcpPair(b *testing.B) (netcode.Conn, netcode.Conn) {
	l, err := kcp.Listen("127.0.0.1:0", kcp.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := kcp.Dial(ctx, l.Addr().String(), kcp.Config{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Close(netcode.CodeOK, "")
		_ = l.Shutdown(context.Background())
	})
	return c, s
}

// BenchmarkEcho is one 64-byte message to an echo server and back, over
// WebRTC on each channel and over KCP's unreliable channel for
// comparison, on loopback in the same run.
func BenchmarkEcho(b *testing.B) {
	for _, tc := range []struct {
		name string
		ch   netcode.Channel
		kcp  bool
	}{
		{"webrtc-reliable", netcode.Reliable, false},
		{"webrtc-unreliable", netcode.Unreliable, false},
		{"kcp-unreliable", netcode.Unreliable, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var c, s netcode.Conn
			if tc.kcp {
				c, s = kcpPair(b)
			} else {
				c, s, _ = pair(b, Config{})
			}
			stop := conntest.Echo(s)
			defer stop()
			msg := make([]byte, 64)
			r := make(conntest.RTTs, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if err := c.WriteMessage(tc.ch, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
				r = append(r, time.Since(t0))
			}
			r.Report(b)
		})
	}
}

// BenchmarkConnect is one session set up and torn down: the offer
// posted, answered, ICE, DTLS and SCTP, both channels open on both ends,
// then both Closes.
func BenchmarkConnect(b *testing.B) {
	s := listenT(b, Config{}, netcode.Env{}, nil)
	cfg := Config{Logger: testLogger(b)}
	var open conntest.RTTs
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		t0 := time.Now()
		c, err := Dial(ctx, Dialer{URL: s.url, Token: "tok", Config: cfg})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		srv, err := s.l.AcceptWebRTC()
		if err != nil {
			b.Fatal(err)
		}
		open = append(open, time.Since(t0))
		_ = c.Close(netcode.CodeOK, "")
		_ = srv.Close(netcode.CodeOK, "")
	}
	slices.Sort(open)
	b.ReportMetric(float64(open[len(open)/2].Microseconds())/1e3, "open-p50-ms")
}

// BenchmarkIdleSessionMemory opens 100 idle sessions and reports the heap
// and goroutine stacks they hold, per session pair (client and server
// ends together: both are pion PeerConnections of the same shape).
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 100
	for b.Loop() {
		func() {
			s := listenT(b, Config{MaxMessageSize: 16 << 10}, netcode.Env{}, nil)
			heap0, stack0 := inUse()
			conns := make([]*Conn, 0, 2*n)
			for i := 0; i < n; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				c, err := Dial(ctx, Dialer{URL: s.url, Token: "tok", Config: Config{MaxMessageSize: 16 << 10, Logger: testLogger(b)}})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				srv, err := s.l.AcceptWebRTC()
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c, srv)
			}
			time.Sleep(2 * time.Second) // let handshake garbage and buffers settle into the idle state
			heap1, stack1 := inUse()
			b.ReportMetric(float64(heap1+stack1-heap0-stack0)/n/1024, "KB/pair")
			b.ReportMetric(float64(stack1-stack0)/n/1024, "stack-KB/pair")
			b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/pair")
			for _, c := range conns {
				_ = c.Close(netcode.CodeOK, "")
			}
		}()
	}
}

// BenchmarkIdleServerSessionMemory is the server's side alone: a child
// process (this test binary, as TestIdleDialerHelper) dials n idle
// sessions, and the heap and stacks the server holds for them are
// reported per session.
func BenchmarkIdleServerSessionMemory(b *testing.B) {
	const n = 100
	for b.Loop() {
		func() {
			s := listenT(b, Config{MaxMessageSize: 16 << 10}, netcode.Env{}, nil)
			heap0, stack0 := inUse()
			g0 := runtime.NumGoroutine()
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleDialerHelper$")
			cmd.Env = append(os.Environ(), dialerHelperEnv+"="+s.url, fmt.Sprintf("%s_N=%d", dialerHelperEnv, n))
			stdin, err := cmd.StdinPipe()
			require.NoError(b, err)
			stdout, err := cmd.StdoutPipe()
			require.NoError(b, err)
			cmd.Stderr = os.Stderr
			require.NoError(b, cmd.Start())
			defer func() {
				_ = stdin.Close() // the helper closes its sessions and exits
				require.NoError(b, cmd.Wait())
			}()
			conns := make([]*Conn, 0, n)
			for range n {
				c, err := s.l.AcceptWebRTC()
				require.NoError(b, err)
				conns = append(conns, c)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			require.NoError(b, err)
			require.Equal(b, "ready\n", line)
			time.Sleep(2 * time.Second) // let handshake garbage and buffers settle into the idle state
			heap1, stack1 := inUse()
			b.ReportMetric(float64(heap1+stack1-heap0-stack0)/n/1024, "KB/session")
			b.ReportMetric(float64(heap1-heap0)/n/1024, "heap-KB/session")
			b.ReportMetric(float64(stack1-stack0)/n/1024, "stack-KB/session")
			b.ReportMetric(float64(runtime.NumGoroutine()-g0)/n, "goroutines/session")
			for _, c := range conns {
				_ = c.Close(netcode.CodeOK, "")
			}
		}()
	}
}

const dialerHelperEnv = "TICKWIRE_WEBRTC_DIALER_URL"

// TestIdleDialerHelper is BenchmarkIdleServerSessionMemory's child: it
// dials $TICKWIRE_WEBRTC_DIALER_URL_N sessions, prints "ready", and closes
// them when its stdin ends. Skipped unless the benchmark runs it.
func TestIdleDialerHelper(t *testing.T) {
	url := os.Getenv(dialerHelperEnv)
	if url == "" {
		t.Skip("run by BenchmarkIdleServerSessionMemory")
	}
	n, err := strconv.Atoi(os.Getenv(dialerHelperEnv + "_N"))
	require.NoError(t, err)
	conns := make([]*Conn, 0, n)
	for range n {
		c, err := dialT(t, url, Config{MaxMessageSize: 16 << 10})
		require.NoError(t, err)
		conns = append(conns, c)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
	for _, c := range conns {
		_ = c.Close(netcode.CodeOK, "")
	}
}

// inUse is the live heap and the goroutine stacks after a full collection.
func inUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}
