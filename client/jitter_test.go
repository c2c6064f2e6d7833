package client_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
)

var j0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	frameDur = 20 * time.Millisecond
	frameTs  = 960
)

func newJitter(t *testing.T, cfg client.JitterConfig) *client.Jitter {
	t.Helper()
	j, err := client.NewJitter(cfg)
	require.NoError(t, err)
	return j
}

func payloadOf(seq uint32) []byte { return []byte{byte(seq), byte(seq >> 8), 0xAA} }

// slot is what one Pop returned, compactly.
type slot struct {
	kind client.JitterKind
	seq  uint32
}

// play pushes the frames due by each slot time (arrivals) and pops once
// per frame duration from start for n slots.
func play(j *client.Jitter, arrivals map[uint32]time.Duration, start time.Duration, n int) []slot {
	type arr struct {
		seq uint32
		at  time.Duration
	}
	var pending []arr
	for seq, at := range arrivals {
		pending = append(pending, arr{seq, at})
	}
	var out []slot
	for i := range n {
		now := start + time.Duration(i)*frameDur
		// Push what arrived up to now, in arrival order.
		for {
			best := -1
			for k, a := range pending {
				if a.at <= now && (best < 0 || a.at < pending[best].at) {
					best = k
				}
			}
			if best < 0 {
				break
			}
			a := pending[best]
			pending = append(pending[:best], pending[best+1:]...)
			j.Push(j0.Add(a.at), a.seq, a.seq*frameTs, payloadOf(a.seq))
		}
		o := j.Pop(j0.Add(now))
		if o.Kind == client.JitterFrame && string(o.Payload) != string(payloadOf(o.Seq)) {
			panic("payload of another frame")
		}
		out = append(out, slot{o.Kind, o.Seq})
	}
	return out
}

// steady is frames first..last sent every 20 ms, arriving after delay.
func steady(first, last uint32, delay time.Duration) map[uint32]time.Duration {
	m := map[uint32]time.Duration{}
	for s := first; s <= last; s++ {
		m[s] = time.Duration(s-first)*frameDur + delay
	}
	return m
}

func TestJitterPlaysInOrderAfterTheDelay(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	got := play(j, steady(1, 5, 0), 0, 8)
	f, none := client.JitterFrame, client.JitterNone
	assert.Equal(t, []slot{{none, 0}, {none, 0}, {f, 1}, {f, 2}, {f, 3}, {f, 4}, {f, 5}, {none, 0}}, got,
		"two slots of delay, five frames, then the buffer runs dry")
	st := j.Stats()
	assert.Equal(t, uint64(5), st.Played)
	assert.Equal(t, uint64(1), st.Underruns)
	assert.Zero(t, st.Concealed+st.Lost+st.Late)
}

func TestJitterReordersWithinTheDelay(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	arr := steady(1, 4, 0)
	arr[2], arr[3] = arr[3], arr[2]+time.Millisecond // 3 before 2
	got := play(j, arr, 0, 6)
	f := client.JitterFrame
	assert.Equal(t, []slot{{f, 1}, {f, 2}, {f, 3}, {f, 4}}, got[2:6])
	assert.Zero(t, j.Stats().Concealed)
}

func TestJitterConcealsALostFrame(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	arr := steady(1, 6, 0)
	delete(arr, 3)
	got := play(j, arr, 0, 8)
	f, c := client.JitterFrame, client.JitterConceal
	assert.Equal(t, []slot{{f, 1}, {f, 2}, {c, 3}, {f, 4}, {f, 5}, {f, 6}}, got[2:8])
	st := j.Stats()
	assert.Equal(t, uint64(1), st.Concealed)
	assert.Equal(t, uint64(1), st.Lost)
	assert.Zero(t, st.Late)
}

func TestJitterCountsALateFrame(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	arr := steady(1, 6, 0)
	arr[3] = 200 * time.Millisecond // far past its slot (at 80 ms)
	got := play(j, arr, 0, 12)
	assert.Equal(t, slot{client.JitterConceal, 3}, got[4])
	st := j.Stats()
	assert.Equal(t, uint64(1), st.Late, "arrived after its slot was concealed")
	assert.Equal(t, uint64(1), st.Lost, "its slot was missed")
	assert.Equal(t, uint64(5), st.Played, "the late frame is not played")
}

func TestJitterDropsDuplicates(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	j.Push(j0, 1, frameTs, payloadOf(1))
	j.Push(j0, 1, frameTs, payloadOf(1))
	j.Push(j0, 2, 2*frameTs, payloadOf(2))
	assert.Equal(t, client.JitterFrame, j.Pop(j0.Add(40*time.Millisecond)).Kind)
	j.Push(j0.Add(41*time.Millisecond), 1, frameTs, payloadOf(1)) // after it played: late
	j.Push(j0.Add(41*time.Millisecond), 2, 2*frameTs, payloadOf(2))
	st := j.Stats()
	assert.Equal(t, uint64(2), st.Duplicate)
	assert.Equal(t, uint64(1), st.Late)
	assert.Equal(t, 1, j.Len())
}

func TestJitterRebuffersAfterAnUnderrun(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	arr := steady(1, 3, 0)
	for s := uint32(10); s <= 12; s++ { // a new spurt after a pause; 4–9 never sent... or lost
		arr[s] = 400*time.Millisecond + time.Duration(s-10)*frameDur
	}
	got := play(j, arr, 0, 30)
	var played []uint32
	for _, s := range got {
		if s.kind == client.JitterFrame {
			played = append(played, s.seq)
		}
		assert.NotEqual(t, client.JitterConceal, s.kind, "an underrun is not concealed slot by slot")
	}
	assert.Equal(t, []uint32{1, 2, 3, 10, 11, 12}, played)
	// The second spurt waits the delay again: its first frame arrives at
	// 400 ms and plays at 440 ms (slot 22).
	assert.Equal(t, slot{client.JitterFrame, 10}, got[22])
	st := j.Stats()
	assert.Equal(t, uint64(6), st.Lost, "4–9 were skipped")
	assert.Equal(t, uint64(2), st.Underruns)
}

func TestJitterOverflowAndTrim(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond, Capacity: 8})
	for s := uint32(1); s <= 10; s++ { // a burst after a stall
		j.Push(j0, s, s*frameTs, payloadOf(s))
	}
	assert.Equal(t, 8, j.Len())
	assert.Equal(t, uint64(2), j.Stats().Overflow)
	o := j.Pop(j0.Add(40 * time.Millisecond))
	require.Equal(t, client.JitterFrame, o.Kind)
	// The frame played now, 40 ms of delay and two frames of slack: five
	// frames kept, the three oldest trimmed rather than played late.
	assert.Equal(t, uint32(6), o.Seq)
	st := j.Stats()
	assert.Equal(t, uint64(3), st.Trimmed)
	assert.Zero(t, st.Lost, "frames dropped before playout started had no slot")
	assert.Equal(t, 4, j.Len())
}

func TestJitterAdaptiveDelay(t *testing.T) {
	smooth := newJitter(t, client.JitterConfig{})
	play(smooth, steady(1, 100, 0), 0, 120)
	assert.Less(t, smooth.Stats().Jitter, time.Millisecond)
	assert.Equal(t, client.DefaultJitterMinDelay, smooth.Stats().Target.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(1, 2))
	rough := newJitter(t, client.JitterConfig{})
	arr := map[uint32]time.Duration{}
	for s := uint32(1); s <= 200; s++ {
		arr[s] = time.Duration(s)*frameDur + time.Duration(rng.IntN(30))*time.Millisecond
	}
	got := play(rough, arr, 0, 240)
	st := rough.Stats()
	assert.Greater(t, st.Jitter, 5*time.Millisecond, "0–30 ms of spread")
	assert.Greater(t, st.Target, 40*time.Millisecond)
	assert.LessOrEqual(t, st.Target, client.DefaultJitterMaxDelay)
	// With the adapted delay, the last hundred slots play almost every frame.
	concealed := 0
	for _, s := range got[140:] {
		if s.kind == client.JitterConceal {
			concealed++
		}
	}
	assert.LessOrEqual(t, concealed, 3)
	assert.Equal(t, st.Received, st.Played+st.Trimmed+uint64(rough.Len()))
}

func TestJitterSequenceWrapAndReset(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 20 * time.Millisecond})
	arr := map[uint32]time.Duration{}
	for i := range uint32(4) { // ..fe, ..ff, 0, 1
		arr[0xffff_fffe+i] = time.Duration(i) * frameDur
	}
	got := play(j, arr, 0, 5)
	f := client.JitterFrame
	assert.Equal(t, []slot{{f, 0xffff_fffe}, {f, 0xffff_ffff}, {f, 0}, {f, 1}}, got[1:5])
	// A sequence number far behind: a restarted sender, not a late frame.
	j.Push(j0.Add(time.Second), 0xffff_0000, 0, payloadOf(0))
	assert.Equal(t, uint64(1), j.Stats().Resets)
}

func TestJitterConfigRefused(t *testing.T) {
	_, err := client.NewJitter(client.JitterConfig{MinDelay: time.Second, MaxDelay: time.Millisecond})
	assert.Error(t, err)
	_, err = client.NewJitter(client.JitterConfig{Capacity: 1})
	assert.Error(t, err)
}

func TestJitterSteadyStateAllocs(t *testing.T) {
	j := newJitter(t, client.JitterConfig{Delay: 40 * time.Millisecond})
	p := make([]byte, 120)
	seq := uint32(0)
	now := j0
	step := func() {
		seq++
		now = now.Add(frameDur)
		j.Push(now, seq, seq*frameTs, p)
		j.Pop(now)
	}
	for range 10 {
		step()
	}
	assert.Zero(t, testing.AllocsPerRun(100, step))
}

// FuzzJitter drives a buffer with arbitrary frames (another member's
// sequence numbers and timestamps are network input): it never panics,
// never holds more than its capacity, plays each sequence number at most
// once per stream, and its counters add up.
func FuzzJitter(f *testing.F) {
	f.Add([]byte{1, 0, 2, 0, 3, 0, 5, 1, 4, 0, 0xff, 2, 6, 0})
	f.Add([]byte{0xff, 0xff, 0, 0, 1, 1, 0x80, 0, 0x7f, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := client.NewJitter(client.JitterConfig{Capacity: 8})
		if err != nil {
			t.Fatal(err)
		}
		now := j0
		played := map[uint32]bool{}
		for i := 0; i+1 < len(b); i += 2 {
			// Each pair: a sequence-number step (signed), then how many
			// slots to pop after pushing it.
			seq := uint32(int32(int8(b[i]))) * uint32(1+int(b[i+1])>>6)
			j.Push(now, seq, seq*frameTs, []byte{b[i]})
			for range int(b[i+1] & 3) {
				now = now.Add(frameDur)
				if o := j.Pop(now); o.Kind == client.JitterFrame {
					if played[o.Seq] && j.Stats().Resets == 0 {
						t.Fatalf("seq %d played twice", o.Seq)
					}
					played[o.Seq] = true
				}
			}
			if j.Len() > 8 {
				t.Fatalf("holds %d frames, capacity 8", j.Len())
			}
		}
		st := j.Stats()
		if st.Received < st.Played+st.Trimmed {
			t.Fatalf("played %d + trimmed %d of %d received", st.Played, st.Trimmed, st.Received)
		}
	})
}
