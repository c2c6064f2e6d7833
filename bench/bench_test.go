package bench

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// The hot paths of a benchmark run: each runs once per message sent or
// received and must cost far less than what it measures. Compare runs
// with benchstat (go test -run '^$' -bench . -count 10 ./bench/).

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%100000) * time.Microsecond)
	}
}

func BenchmarkHistogramSummary(b *testing.B) {
	h := NewHistogram()
	for i := 1; i <= 100000; i++ {
		h.RecordUs(float64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Summary()
	}
}

// BenchmarkEchoOnReply is the echo receiver's work per reply.
func BenchmarkEchoOnReply(b *testing.B) {
	const total = 1 << 16
	l := &echoRunner{total: total, base: time.Now(), sentAt: make([]atomic.Int64, total),
		got: make([]bool, total), hist: NewHistogram(), notify: make(chan uint32, 1)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		seq := uint32(i % total)
		if seq == 0 {
			clear(l.got)
		}
		l.onReply(seq)
	}
}

// BenchmarkTickwireEchoHandle is the tickwire link's decode of one Echo
// reply (on the client's reader goroutine).
func BenchmarkTickwireEchoHandle(b *testing.B) {
	data, err := frame.Marshal(&frame.Echo{Seq: 7, SentUs: 1, Payload: make([]byte, 64)})
	if err != nil {
		b.Fatal(err)
	}
	l := &twLink{dec: frame.NewDecoder()}
	var n uint32
	f := func(seq uint32) { n += seq }
	l.bind(f)
	m := client.Message{Channel: netcode.Reliable, Kind: frame.KindEcho, Data: data}
	b.ReportAllocs()
	for b.Loop() {
		l.handle(m)
	}
	if n == 0 {
		b.Fatal("no reply decoded")
	}
}

// BenchmarkRoomTickHandle_8Inputs is a room client's work per received
// tick of an 8-member room: decode, then one histogram record per input.
func BenchmarkRoomTickHandle_8Inputs(b *testing.B) {
	base := time.Now()
	tick := frame.RoomTick{RoomID: 1, Tick: 2, ServerTimeUs: 3}
	for i := 0; i < 8; i++ {
		d := make([]byte, 64)
		binary.BigEndian.PutUint64(d, uint64(time.Since(base)))
		d[12] = 1
		tick.Inputs = append(tick.Inputs, frame.TickInput{Member: uint32(i), Seq: 1, Data: d})
	}
	data, err := frame.Marshal(&tick)
	if err != nil {
		b.Fatal(err)
	}
	p := newPlayer(0, 0, 0, &roomClock{base: base})
	b.ReportAllocs()
	for b.Loop() {
		p.onTick(data)
	}
	if p.delivered.Load() == 0 {
		b.Fatal("nothing recorded")
	}
}

func BenchmarkProgressAdd(b *testing.B) {
	p := &Progress{}
	b.ReportAllocs()
	for b.Loop() {
		p.Add(1)
	}
}
