package rooms_test

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/room/voice"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// BenchmarkVoiceForwardKCP measures voice forwarding latency over real
// loopback KCP: frame sent by one member → the same frame decoded at
// another member, with 8 members each sending 20 ms frames of 120 bytes
// (50 frames/s each, 400 in and 2,800 out per second) into one voice room
// ticking at 10 Hz. One iteration is one frame sent; every copy's latency
// is recorded. Reports p50, p99 and max in µs:
//
//	go test -run '^$' -bench VoiceForwardKCP -benchtime 4000x ./engine/rooms/
func BenchmarkVoiceForwardKCP(b *testing.B) {
	const members = 8
	srv := servertest.Start(b, server.Config{Rooms: rooms.Config{Voice: voice.Config{MaxFramesPerSecond: 200}}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var mu sync.Mutex // guards lat
	lat := make([]time.Duration, 0, b.N*(members-1))
	var got atomic.Int64
	var rs []*client.Room
	for i := range members {
		tok, err := client.GuestToken(ctx, srv.HTTPURL(), "v"+string(rune('a'+i)))
		require.NoError(b, err)
		var vf frame.VoiceFrame
		dec := frame.NewDecoder()
		c, err := client.Dial(ctx, client.Options{Token: tok, Dial: kcp.Dialer{Addr: srv.Addr(transportKCP)}.Dial,
			Handler: func(m client.Message) {
				if m.Kind != frame.KindVoiceFrame || dec.Decode(m.Data, &vf) != nil || len(vf.Payload) < 8 {
					return
				}
				d := time.Duration(time.Now().UnixNano() - int64(binary.LittleEndian.Uint64(vf.Payload)))
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				got.Add(1)
			}})
		require.NoError(b, err)
		b.Cleanup(func() { _ = c.Close() })
		var r *client.Room
		if i == 0 {
			r, err = c.CreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Capacity: members, TickRate: 10})
		} else {
			r, err = c.JoinRoom(ctx, rs[0].ID())
		}
		require.NoError(b, err)
		rs = append(rs, r)
	}
	payload := make([]byte, 120)
	tick := time.NewTicker(20 * time.Millisecond / members) // each member every 20 ms
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		binary.LittleEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		r := rs[i%members]
		if _, err := r.SendVoice(uint32(i/members)*960, payload); err != nil {
			b.Fatal(err)
		}
	}
	// Wait for the last copies (a lost one shows in delivered_%).
	want := int64(b.N * (members - 1))
	for deadline := time.Now().Add(5 * time.Second); got.Load() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no frame arrived")
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50_us")
	b.ReportMetric(q(0.99), "p99_us")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max_us")
	b.ReportMetric(float64(len(lat))/float64(b.N*(members-1))*100, "delivered_%")
	b.ReportMetric(0, "ns/op")
}
