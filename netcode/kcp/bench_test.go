package kcp

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/memlink"
)

const echoSize = 64

func BenchmarkEchoRawUDP(b *testing.B) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, addr, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if _, err := srv.WriteToUDPAddrPort(buf[:n], addr); err != nil {
				return
			}
		}
	}()
	defer func() { _ = srv.Close(); wg.Wait() }()
	cli, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	msg, buf := make([]byte, echoSize), make([]byte, 2048)
	r := make(conntest.RTTs, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := cli.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.Read(buf); err != nil {
			b.Fatal(err)
		}
		r = append(r, time.Since(t0))
	}
	r.Report(b)
}

func BenchmarkEchoBareKCPGo(b *testing.B) {
	l, err := kcpgo.ListenWithOptions("127.0.0.1:0", nil, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s, err := l.AcceptKCP()
		if err != nil {
			return
		}
		defer s.Close()
		if ProfileLowLatency.ApplyTo(s) != nil {
			return
		}
		buf := make([]byte, echoSize)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	}()
	cli, err := kcpgo.DialWithOptions(l.Addr().String(), nil, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := ProfileLowLatency.ApplyTo(cli); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cli.Close(); _ = l.Close(); wg.Wait() }()
	msg, buf := make([]byte, echoSize), make([]byte, echoSize)
	r := make(conntest.RTTs, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := cli.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(cli, buf); err != nil {
			b.Fatal(err)
		}
		r = append(r, time.Since(t0))
	}
	r.Report(b)
}

func benchEcho(b *testing.B, ch netcode.Channel, cfg Config) {
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	cli, err := Dial(context.Background(), l.Addr().String(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close(netcode.CodeOK, "")
	s, err := l.AcceptKCP()
	if err != nil {
		b.Fatal(err)
	}
	defer conntest.Echo(s)()
	msg := make([]byte, echoSize)
	r := make(conntest.RTTs, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := cli.WriteMessage(ch, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := cli.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		r = append(r, time.Since(t0))
	}
	r.Report(b)
}

func BenchmarkEchoNetcodeKCP(b *testing.B) { benchEcho(b, netcode.Reliable, Config{}) }

func BenchmarkEchoNetcodeKCPUnreliable(b *testing.B) { benchEcho(b, netcode.Unreliable, Config{}) }

// The same with encryption off (benchmarks only): the difference is what
// sealing every datagram costs a round trip.
func BenchmarkEchoNetcodeKCPPlaintext(b *testing.B) {
	benchEcho(b, netcode.Reliable, Config{Plaintext: true, AllowPlaintext: true})
}

func BenchmarkEchoNetcodeKCPUnreliablePlaintext(b *testing.B) {
	benchEcho(b, netcode.Unreliable, Config{Plaintext: true, AllowPlaintext: true})
}

// BenchmarkSeal and BenchmarkOpen measure sealing and opening one
// session datagram in place (AES-256-GCM, the header as additional
// data), as the endpoint does: no allocation.
func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{64, 1200} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			sc, err := newSessionCrypto(make([]byte, 32), true, 0)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size, size+tagSize)
			pn := uint32(0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				putSessionHeader(buf, sessionHeader{Type: typeKCP, Token: 1, PN: pn})
				sc.seal(pn, buf)
				pn++
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range []int{64, 1200} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			tx, err := newSessionCrypto(make([]byte, 32), true, 0)
			if err != nil {
				b.Fatal(err)
			}
			rx, err := newSessionCrypto(make([]byte, 32), false, 0)
			if err != nil {
				b.Fatal(err)
			}
			// A ring of sealed datagrams, reopened from copies (open
			// decrypts in place); the replay window is reset per lap.
			const ring = 512
			sealed := make([][]byte, ring)
			for i := range sealed {
				d := make([]byte, size, size+tagSize)
				putSessionHeader(d, sessionHeader{Type: typeKCP, Token: 1, PN: uint32(i)})
				sealed[i] = tx.seal(uint32(i), d)
			}
			work := make([]byte, size+tagSize)
			i := 0
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if i == ring {
					i, rx.replay = 0, replay{}
				}
				n := copy(work, sealed[i])
				if _, ok, _ := rx.open(uint32(i), work[:n]); !ok {
					b.Fatal("open failed")
				}
				rx.accept(uint32(i))
				i++
			}
		})
	}
}

// BenchmarkLossyPacedEcho measures reliable round trips of 64 bytes sent
// every 2 ms over an in-memory link that loses the given fraction of
// datagrams in each direction, with adaptive redundancy on and off.
func BenchmarkLossyPacedEcho(b *testing.B) {
	for _, loss := range []float64{0.05, 0.15} {
		for _, red := range []bool{true, false} {
			name := map[bool]string{true: "adaptive", false: "off"}[red]
			b.Run("loss="+map[float64]string{0.05: "5%", 0.15: "15%"}[loss]+"/redundancy="+name, func(b *testing.B) {
				benchLossy(b, loss, !red)
			})
		}
	}
}

func benchLossy(b *testing.B, loss float64, disabled bool) {
	d := memlink.Direction{Loss: loss}
	link := memlink.New(memlink.Config{Seed: 99, AToB: d, BToA: d})
	defer link.Close()
	cfg := Config{IdleTimeout: time.Minute, Redundancy: RedundancyConfig{Disabled: disabled}}
	l, err := ListenPacket(link.A(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	cli, err := DialPacket(context.Background(), link.B(), link.A().LocalAddr(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close(netcode.CodeOK, "")
	s, err := l.AcceptKCP()
	if err != nil {
		b.Fatal(err)
	}
	defer conntest.Echo(s)()
	msg := make([]byte, echoSize)
	// One echo every 2 ms (pacing, not synchronisation), warm-up included.
	tk := time.NewTicker(2 * time.Millisecond)
	defer tk.Stop()
	// Warm up: let both ends measure the loss.
	for range 500 {
		<-tk.C
		if err := cli.WriteMessage(netcode.Reliable, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := cli.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	r := make(conntest.RTTs, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		<-tk.C
		t0 := time.Now()
		if err := cli.WriteMessage(netcode.Reliable, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := cli.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		r = append(r, time.Since(t0))
	}
	b.StopTimer()
	r.Report(b)
	st := cli.Stats()
	b.ReportMetric(st.LossRate*100, "loss-%")
	b.ReportMetric(float64(st.Redundancy), "level")
}

// BenchmarkAgree is the key agreement of one handshake: the server's
// side (one X25519 with its static key, HKDF, the session's AES-GCM
// keys) and the client's (a fresh ephemeral key, then the same).
func BenchmarkAgree(b *testing.B) {
	srv, err := GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("server", func(b *testing.B) {
		cli, err := GenerateKey()
		if err != nil {
			b.Fatal(err)
		}
		pub := cli.PublicKey().Bytes()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := agree(srv, pub, [8]byte{}, false, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		spub := srv.PublicKey().Bytes()
		b.ReportAllocs()
		for b.Loop() {
			eph, err := GenerateKey()
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := agree(eph, spub, [8]byte{}, true, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
