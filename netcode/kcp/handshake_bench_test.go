package kcp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// welcomer is a server session's Receiver in BenchmarkHandshake: it
// answers the first message with a Welcome-sized one, as the engine
// answers Hello.
type welcomer struct {
	c    *Conn
	once sync.Once
}

var benchWelcome = make([]byte, 120)

func (w *welcomer) Receive(netcode.Channel, []byte) {
	w.once.Do(func() {
		_ = w.c.QueueMessages(netcode.Reliable, [][]byte{benchWelcome}) // a failure shows as a dial that never hears back
	})
}

func (w *welcomer) Ended(error) {}

// BenchmarkHandshake opens sealed sessions over real loopback, as a
// client does: Hello, Cookie, Connect, Accept, then a Hello-sized
// message answered with a Welcome-sized one. One op is one session,
// both ends in this process (allocs/op counts both); server_dgrams_in/op
// and server_dgrams_out/op are the datagrams the listener's socket took
// and sent for it, reports within the run included. Sessions stay open
// until the end, as in a connect storm.
func BenchmarkHandshake(b *testing.B) {
	for _, mode := range []struct {
		name      string
		plaintext bool
	}{{"sealed", false}, {"plaintext", true}} {
		b.Run(mode.name, func(b *testing.B) {
			l, err := Listen("127.0.0.1:0", Config{Loops: 1, AllowPlaintext: true, MaxSessions: 1 << 20, AcceptBacklog: 4096})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := l.AcceptKCP()
					if err != nil {
						return
					}
					c.Push(&welcomer{c: c})
				}
			}()
			defer func() {
				_ = l.Shutdown(context.Background()) // the benchmark's result is taken
				wg.Wait()
			}()
			const sockets = 4
			var socks []*ClientSocket
			for range sockets {
				cfg := Config{Plaintext: mode.plaintext}
				if !mode.plaintext {
					cfg.ServerKey = l.PublicKey()
				}
				s, err := NewClientSocket("127.0.0.1:0", cfg)
				if err != nil {
					b.Fatal(err)
				}
				socks = append(socks, s)
			}
			defer func() {
				for _, s := range socks {
					_ = s.Close() // the benchmark's result is taken
				}
			}()
			hello := make([]byte, 200)
			before := l.ListenerStats().IO
			b.ReportAllocs()
			b.ResetTimer()
			var next sync.Mutex
			n := 0
			var dialers sync.WaitGroup
			errs := make(chan error, 1)
			for w := range 16 {
				dialers.Add(1)
				go func() {
					defer dialers.Done()
					s := socks[w%sockets]
					for {
						next.Lock()
						if n >= b.N {
							next.Unlock()
							return
						}
						n++
						next.Unlock()
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						c, err := s.Dial(ctx, l.Addr().String())
						cancel()
						if err == nil {
							err = c.WriteMessage(netcode.Reliable, hello)
						}
						if err == nil {
							_, _, err = c.ReadMessage()
						}
						if err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				}()
			}
			dialers.Wait()
			b.StopTimer()
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			after := l.ListenerStats().IO
			b.ReportMetric(float64(after["datagrams_in"]-before["datagrams_in"])/float64(b.N), "server_dgrams_in/op")
			b.ReportMetric(float64(after["datagrams_out"]-before["datagrams_out"])/float64(b.N), "server_dgrams_out/op")
		})
	}
}
