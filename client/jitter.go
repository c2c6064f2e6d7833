package client

import (
	"cmp"
	"fmt"
	"time"
)

// Jitter buffer defaults.
const (
	DefaultJitterFrameTicks = 960 // 20 ms at 48 kHz
	DefaultJitterMinDelay   = 20 * time.Millisecond
	DefaultJitterMaxDelay   = 200 * time.Millisecond
	DefaultJitterCapacity   = 50
	jitterClockRate         = 48_000
)

// JitterConfig configures a Jitter buffer. Zero fields take the defaults.
type JitterConfig struct {
	// FrameTicks is the duration of one frame in timestamp units (48 kHz):
	// default 960, 20 ms.
	FrameTicks uint32
	// Delay fixes the playout delay: how long the first frame of a talk
	// spurt waits before it plays. Zero makes it adaptive: MinDelay (default
	// one frame) plus four times the measured interarrival jitter (RFC
	// 3550), at most MaxDelay (default 200 ms).
	Delay    time.Duration
	MinDelay time.Duration
	MaxDelay time.Duration
	// Capacity bounds the frames held (default 50, a second of 20 ms
	// frames); past it the oldest is dropped (Overflow).
	Capacity int
}

// JitterKind says what Pop returned.
type JitterKind uint8

const (
	// JitterNone: nothing to play now (not started, rebuffering after an
	// underrun, or the talker is silent). Play silence or comfort noise.
	JitterNone JitterKind = iota
	// JitterFrame: decode Payload.
	JitterFrame
	// JitterConceal: the frame of this slot is missing but later ones are
	// here: run the decoder's loss concealment (Opus PLC, or FEC from the
	// next frame) for one frame.
	JitterConceal
)

var jitterKindNames = [...]string{"none", "frame", "conceal"}

func (k JitterKind) String() string {
	if int(k) < len(jitterKindNames) {
		return jitterKindNames[k]
	}
	return fmt.Sprintf("jitter_kind_%d", k)
}

// JitterOut is one playout slot.
type JitterOut struct {
	Kind      JitterKind
	Seq       uint32 // the slot's sequence number (JitterFrame, JitterConceal)
	Timestamp uint32 // its timestamp (for JitterConceal: the expected one)
	// Payload is the frame (JitterFrame), valid until the next Push or Pop.
	Payload []byte
}

// JitterStats are a Jitter buffer's counters.
type JitterStats struct {
	Received  uint64 // frames pushed and kept
	Played    uint64 // frames returned by Pop
	Concealed uint64 // slots Pop returned as JitterConceal
	// Lost counts sequence numbers whose frame was not there when its slot
	// came: concealed, or skipped when playout restarted after an
	// underrun. A frame that arrives after that is also counted Late, so
	// Lost - Late is what the network never delivered.
	Lost      uint64
	Late      uint64 // frames that arrived after their slot: dropped
	Duplicate uint64 // frames already held or played: dropped
	Overflow  uint64 // frames dropped because Capacity frames were held
	Trimmed   uint64 // frames dropped to bring a grown delay back to the target
	Underruns uint64 // times playout stopped because the buffer ran dry
	Resets    uint64 // sequence jumps so large the stream was restarted
	// Jitter is the interarrival jitter estimate (RFC 3550); Target the
	// playout delay a talk spurt starts with now.
	Jitter time.Duration
	Target time.Duration
}

type jitterFrame struct {
	seq, ts uint32
	payload []byte
}

// Jitter is a sans-IO jitter buffer for one sender's voice frames (one
// member of a voice room): Push each VoiceFrame as it arrives, and call
// Pop once per frame duration, on the audio device's clock. It orders
// frames by sequence number, holds a talk spurt's first frame for the
// playout delay, returns JitterConceal for a missing frame once a later
// one is here, drops late and duplicate frames, and counts everything.
// Time is passed in; a Jitter is not safe for concurrent use.
type Jitter struct {
	cfg JitterConfig

	buf  []jitterFrame // held frames, by sequence number
	free [][]byte      // payload buffers to reuse

	playing  bool
	started  bool      // next is known: something played or was skipped
	next     uint32    // sequence number of the next slot
	nextTs   uint32    // its expected timestamp
	startAt  time.Time // when a buffering spurt starts playing
	out      []byte    // payload of the last Pop
	haveLast bool
	lastTr   float64 // last transit time, in timestamp units
	jitter   float64 // RFC 3550 J, in timestamp units

	st JitterStats
}

// NewJitter returns an empty Jitter buffer.
func NewJitter(cfg JitterConfig) (*Jitter, error) {
	cfg.FrameTicks = cmp.Or(cfg.FrameTicks, DefaultJitterFrameTicks)
	cfg.MinDelay = cmp.Or(cfg.MinDelay, DefaultJitterMinDelay)
	cfg.MaxDelay = cmp.Or(cfg.MaxDelay, DefaultJitterMaxDelay)
	cfg.Capacity = cmp.Or(cfg.Capacity, DefaultJitterCapacity)
	if cfg.Delay < 0 || cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay || cfg.Capacity < 2 || cfg.Capacity > 1000 {
		return nil, fmt.Errorf("client: bad jitter config %+v", cfg)
	}
	return &Jitter{cfg: cfg, buf: make([]jitterFrame, 0, cfg.Capacity)}, nil
}

func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

// Push adds a frame that arrived at now. payload is copied.
func (j *Jitter) Push(now time.Time, seq, ts uint32, payload []byte) {
	j.measure(now, ts)
	if j.started && seqBefore(seq, j.next) {
		if int32(j.next-seq) > int32(4*j.cfg.Capacity) {
			j.reset() // the sender restarted its numbering
		} else {
			j.st.Late++
			return
		}
	}
	i := len(j.buf)
	for i > 0 && seqBefore(seq, j.buf[i-1].seq) {
		i--
	}
	if i > 0 && j.buf[i-1].seq == seq {
		j.st.Duplicate++
		return
	}
	if len(j.buf) == 0 && !j.playing {
		j.startAt = now.Add(j.target())
	}
	if len(j.buf) == j.cfg.Capacity {
		j.st.Overflow++
		if i == 0 {
			return // older than everything held: it is the one to drop
		}
		j.dropOldest()
		i--
	}
	var b []byte
	if n := len(j.free); n > 0 {
		b, j.free = j.free[n-1][:0], j.free[:n-1]
	}
	f := jitterFrame{seq: seq, ts: ts, payload: append(b, payload...)}
	j.buf = append(j.buf, jitterFrame{})
	copy(j.buf[i+1:], j.buf[i:])
	j.buf[i] = f
	j.st.Received++
}

// Pop returns what to play for the slot starting at now.
func (j *Jitter) Pop(now time.Time) JitterOut {
	j.recycle()
	if !j.playing {
		if len(j.buf) == 0 || now.Before(j.startAt) {
			return JitterOut{Kind: JitterNone}
		}
		j.playing = true
		first := j.buf[0]
		if j.started && seqBefore(j.next, first.seq) {
			j.st.Lost += uint64(first.seq - j.next) // missed while rebuffering
		}
		j.started, j.next, j.nextTs = true, first.seq, first.ts
	}
	if len(j.buf) == 0 {
		j.playing = false
		j.st.Underruns++
		return JitterOut{Kind: JitterNone}
	}
	j.trim()
	if gap := j.buf[0].seq - j.next; gap > uint32(j.cfg.Capacity) && gap < 1<<31 {
		// A gap longer than the buffer (a long outage, a sender that
		// jumped ahead): concealing it slot by slot would only add delay.
		j.skipTo(j.buf[0])
	}
	slot := j.next
	j.next++
	if f := j.buf[0]; f.seq == slot {
		j.out = f.payload
		j.buf[0].payload = nil
		j.dropOldest()
		j.st.Played++
		j.nextTs = f.ts + j.cfg.FrameTicks
		return JitterOut{Kind: JitterFrame, Seq: slot, Timestamp: f.ts, Payload: f.payload}
	}
	j.st.Concealed++
	j.st.Lost++
	ts := j.nextTs
	j.nextTs += j.cfg.FrameTicks
	return JitterOut{Kind: JitterConceal, Seq: slot, Timestamp: ts}
}

// trim drops the oldest held frames while the buffer holds more than the
// target delay plus two frames, so that a delay that grew during a burst
// shrinks back.
func (j *Jitter) trim() {
	frame := time.Duration(j.cfg.FrameTicks) * time.Second / jitterClockRate
	keep := int((j.target()+2*frame)/frame) + 1
	for len(j.buf) > keep {
		j.st.Trimmed++
		j.skipTo(j.buf[0])
		j.next++
		j.nextTs += j.cfg.FrameTicks
		j.dropOldest()
	}
}

// skipTo moves the next slot to f, counting the slots jumped over as lost.
func (j *Jitter) skipTo(f jitterFrame) {
	if seqBefore(j.next, f.seq) {
		j.st.Lost += uint64(f.seq - j.next)
	}
	j.next, j.nextTs = f.seq, f.ts
}

// Stats returns the counters.
func (j *Jitter) Stats() JitterStats {
	st := j.st
	st.Jitter = time.Duration(j.jitter * float64(time.Second) / jitterClockRate)
	st.Target = j.target()
	return st
}

// Len is the number of frames held.
func (j *Jitter) Len() int { return len(j.buf) }

// target is the playout delay a spurt starts with.
func (j *Jitter) target() time.Duration {
	if j.cfg.Delay > 0 {
		return j.cfg.Delay
	}
	d := j.cfg.MinDelay + time.Duration(4*j.jitter*float64(time.Second)/jitterClockRate)
	return min(d, j.cfg.MaxDelay)
}

// measure updates the interarrival jitter (RFC 3550 §6.4.1) with a frame
// of timestamp ts arriving at now.
func (j *Jitter) measure(now time.Time, ts uint32) {
	arrival := float64(now.UnixNano()) * jitterClockRate / float64(time.Second)
	transit := arrival - float64(ts)
	if j.haveLast {
		d := transit - j.lastTr
		if d < 0 {
			d = -d
		}
		// A jump of more than a second is a new stream or a clock step,
		// not jitter.
		if d < jitterClockRate {
			j.jitter += (d - j.jitter) / 16
		}
	}
	j.lastTr, j.haveLast = transit, true
}

func (j *Jitter) dropOldest() {
	if p := j.buf[0].payload; p != nil {
		j.free = append(j.free, p)
	}
	copy(j.buf, j.buf[1:])
	j.buf[len(j.buf)-1] = jitterFrame{}
	j.buf = j.buf[:len(j.buf)-1]
}

// recycle takes back the payload the last Pop returned.
func (j *Jitter) recycle() {
	if j.out != nil {
		j.free = append(j.free, j.out)
		j.out = nil
	}
}

func (j *Jitter) reset() {
	j.st.Resets++
	for len(j.buf) > 0 {
		j.dropOldest()
	}
	j.playing, j.started = false, false
}
