package e2e

import (
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// echoPayload is the application payload of every round trip.
const echoPayload = 64

// BenchmarkEcho measures one echo round trip, back to back, through the
// full stack (client SDK -> transport -> engine session -> back) beside
// bare kcp-go with the same low-latency profile and a raw UDP echo, all in
// one run and one process. Each reports p50/p99 in µs.
//
//	go test -bench Echo -run '^$' -benchtime 20000x ./internal/e2e/
func BenchmarkEcho(b *testing.B) {
	b.Run("tickwire-kcp", func(b *testing.B) { benchTickwire(b, transportKCP) })
	b.Run("tickwire-tcp", func(b *testing.B) { benchTickwire(b, transportTCP) })
	b.Run("kcp-go", benchBareKCP)
	b.Run("udp", benchUDP)
}

// measure times b.N round trips of rt and reports the percentiles.
func measure(b *testing.B, rt func(i int)) {
	for i := 0; i < 200; i++ { // warm up
		rt(i)
	}
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rt(i)
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func benchTickwire(b *testing.B, tr string) {
	srv := servertest.Start(b, server.Config{Engine: engine.Config{MaxFramesPerSecond: -1}})
	got := make(chan struct{}, 1)
	c := dial(b, srv, tr, client.Options{
		PingInterval: -1,
		Handler: func(m client.Message) {
			if m.Kind == frame.KindEcho {
				got <- struct{}{}
			}
		},
	})
	echo := &frame.Echo{Payload: make([]byte, echoPayload)}
	measure(b, func(i int) {
		echo.Seq = uint32(i)
		if err := c.Send(netcode.Reliable, echo); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(wait):
			b.Fatal("echo timed out")
		}
	})
}

// benchBareKCP is kcp-go alone with tickwire's default profile
// (kcp.ProfileLowLatency applied to both ends), one echo goroutine per
// session on the server.
func benchBareKCP(b *testing.B) {
	l, err := kcpgo.ListenWithOptions("127.0.0.1:0", nil, 0, 0)
	require.NoError(b, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sessions []*kcpgo.UDPSession
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			s, err := l.AcceptKCP()
			if err != nil {
				return
			}
			if kcp.ProfileLowLatency.ApplyTo(s) != nil {
				_ = s.Close()
				return
			}
			mu.Lock()
			sessions = append(sessions, s)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, echoPayload)
				for {
					if _, err := io.ReadFull(s, buf); err != nil {
						return
					}
					if _, err := s.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	c, err := kcpgo.DialWithOptions(l.Addr().String(), nil, 0, 0)
	require.NoError(b, err)
	require.NoError(b, kcp.ProfileLowLatency.ApplyTo(c))
	b.Cleanup(func() {
		_ = c.Close()
		_ = l.Close()
		mu.Lock()
		for _, s := range sessions {
			_ = s.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	out := make([]byte, echoPayload)
	in := make([]byte, echoPayload)
	measure(b, func(i int) {
		out[0] = byte(i)
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	})
}

// benchUDP is the floor: a connected UDP socket and a ReadFrom/WriteTo
// echo loop.
func benchUDP(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(b, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo(buf[:n], addr); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	require.NoError(b, err)
	b.Cleanup(func() {
		_ = c.Close()
		_ = pc.Close()
		<-done
	})
	out := make([]byte, echoPayload)
	in := make([]byte, 2048)
	measure(b, func(i int) {
		out[0] = byte(i)
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(in); err != nil {
			b.Fatal(err)
		}
	})
}
