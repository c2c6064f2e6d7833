package social_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// BenchmarkSignalRelay times one signal from ada's session to her
// friend bob's, over TCP loopback through the whole server (reader,
// request worker, relay, bob's writer): ns/op is the one-way relay time
// of a 1 KiB payload (ref 0: no OK), one at a time; p50/p99 are reported.
func BenchmarkSignalRelay(b *testing.B) {
	srv := servertest.Start(b, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
		Social:     social.Config{SignalsPerSecond: 1e9, SignalBurst: 1 << 30},
		Engine:     engine.Config{MaxFramesPerSecond: -1},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := func(name string) (string, string) {
		var a struct {
			Token  string `json:"token"`
			UserID string `json:"user_id"`
		}
		require.NoError(b, client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
			map[string]string{"username": name, "password": "correct horse battery"}, &a))
		return a.Token, a.UserID
	}
	at, aid := reg("ada")
	bt, bid := reg("bob")
	got := make(chan struct{}, 1)
	dial := func(tok string, h func(client.Message)) *client.Client {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: tok, Handler: h})
		require.NoError(b, err)
		b.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := dial(at, func(client.Message) {})
	bc := dial(bt, func(m client.Message) {
		if m.Kind == frame.KindSignalRecv {
			got <- struct{}{}
		}
	})
	require.NoError(b, a.RequestFriend(ctx, "bob"))
	require.NoError(b, bc.AcceptFriend(ctx, aid))
	require.NoError(b, a.SignalFriend(ctx, bid, []byte("warm-up")))
	<-got
	sig := &frame.Signal{ToUserID: bid, Payload: make([]byte, 1024)}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := a.Send(netcode.Reliable, sig); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-ctx.Done():
			b.Fatal("signal not relayed")
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
