package voice_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/room/voice"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const frameTs = 960 // 20 ms at 48 kHz

func filled(t *testing.T, c voice.Config) *voice.Config {
	t.Helper()
	require.NoError(t, c.Fill())
	return &c
}

func TestStreamSequenceWindow(t *testing.T) {
	cases := map[string]struct {
		start   uint32
		seqs    []uint32
		verdict []voice.Verdict
	}{
		"in order":                {0, []uint32{1, 2, 3}, []voice.Verdict{voice.Forward, voice.Forward, voice.Forward}},
		"duplicate of the newest": {0, []uint32{1, 1}, []voice.Verdict{voice.Forward, voice.DropDup}},
		"reordered, then its duplicate": {0, []uint32{1, 3, 2, 2, 3},
			[]voice.Verdict{voice.Forward, voice.Forward, voice.Forward, voice.DropDup, voice.DropDup}},
		"the oldest in the window":   {0, []uint32{100, 100 - voice.Window + 1}, []voice.Verdict{voice.Forward, voice.Forward}},
		"one behind the window":      {0, []uint32{100, 100 - voice.Window}, []voice.Verdict{voice.Forward, voice.DropStale}},
		"far behind":                 {0, []uint32{100, 3}, []voice.Verdict{voice.Forward, voice.DropStale}},
		"across the wrap":            {0, []uint32{0xffff_fffe, 0xffff_ffff, 0, 1, 0xffff_ffff}, []voice.Verdict{voice.Forward, voice.Forward, voice.Forward, voice.Forward, voice.DropDup}},
		"a jump forward resets":      {0, []uint32{5, 5000, 4999, 5}, []voice.Verdict{voice.Forward, voice.Forward, voice.Forward, voice.DropStale}},
		"the first frame is any seq": {0, []uint32{0x8000_0000}, []voice.Verdict{voice.Forward}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := voice.NewStream(filled(t, voice.Config{BitrateBps: 1 << 20, MaxFramesPerSecond: 10_000, MaxLag: 2 * time.Second}))
			now := t0
			for i, seq := range c.seqs {
				now = now.Add(20 * time.Millisecond)
				got := s.Accept(now, seq, seq*frameTs, 100)
				assert.Equal(t, c.verdict[i], got, "frame %d (seq %d): %v", i, seq, got)
			}
		})
	}
}

func TestStreamTimestampLag(t *testing.T) {
	s := voice.NewStream(filled(t, voice.Config{MaxLag: 500 * time.Millisecond}))
	require.Equal(t, voice.Forward, s.Accept(t0, 10, 100_000, 50))
	// A new sequence number but a timestamp 0.5 s + 1 unit older.
	assert.Equal(t, voice.DropStale, s.Accept(t0, 11, 100_000-24_001, 50))
	assert.Equal(t, voice.Forward, s.Accept(t0, 12, 100_000-24_000, 50), "exactly MaxLag behind is kept")
}

func TestStreamBitrateCap(t *testing.T) {
	// 8,000 bit/s = 1,000 B/s with a 500-byte burst; frames are unlimited.
	cfg := filled(t, voice.Config{BitrateBps: 8_000, BurstBytes: 500, MaxFrameBytes: 100, MaxFramesPerSecond: 1000})
	s := voice.NewStream(cfg)
	now, seq := t0, uint32(0)
	send := func() voice.Verdict { seq++; return s.Accept(now, seq, seq*frameTs, 100) }
	for i := range 5 {
		require.Equal(t, voice.Forward, send(), "frame %d of the burst", i)
	}
	assert.Equal(t, voice.DropRate, send(), "the burst is spent")
	// Over 10 s at 50 frames/s of 100 bytes (5,000 B/s offered), the cap
	// lets through 1,000 B/s: 10 frames/s.
	forwarded := 0
	for range 500 {
		now = now.Add(20 * time.Millisecond)
		if send() == voice.Forward {
			forwarded++
		}
	}
	assert.InDelta(t, 100, forwarded, 2, "1,000 B/s of 100-byte frames over 10 s")
}

func TestStreamFrameRateCap(t *testing.T) {
	cfg := filled(t, voice.Config{MaxFramesPerSecond: 50, FrameBurst: 5, BitrateBps: 1 << 20})
	s := voice.NewStream(cfg)
	forwarded := 0
	now := t0
	for seq := uint32(1); seq <= 1000; seq++ { // 1,000 tiny frames in 1 s
		now = now.Add(time.Millisecond)
		if s.Accept(now, seq, seq*48, 1) == voice.Forward {
			forwarded++
		}
	}
	assert.InDelta(t, 55, forwarded, 2, "50 frames/s plus the burst of 5")
}

func TestStreamSpeakingDetector(t *testing.T) {
	cfg := filled(t, voice.Config{SilenceTimeout: 300 * time.Millisecond})
	s := voice.NewStream(cfg)
	assert.False(t, s.Voiced(t0, 2), "a DTX packet is not speech")
	assert.False(t, s.Silent(t0.Add(time.Second)), "never spoke")
	assert.True(t, s.Voiced(t0, 80), "first speech frame")
	assert.False(t, s.Voiced(t0.Add(20*time.Millisecond), 80), "still speaking")
	assert.False(t, s.Silent(t0.Add(319*time.Millisecond)), "299 ms after the last speech frame")
	assert.True(t, s.Silent(t0.Add(320*time.Millisecond)), "300 ms after")
	assert.False(t, s.Speaking())
	assert.False(t, s.Silent(t0.Add(400*time.Millisecond)), "reported once")
	assert.True(t, s.Voiced(t0.Add(time.Second), 80), "speaking again")
}

func TestStreamMute(t *testing.T) {
	s := voice.NewStream(filled(t, voice.Config{}))
	require.Equal(t, voice.Forward, s.Accept(t0, 1, frameTs, 80))
	require.True(t, s.Voiced(t0, 80))
	changed, stopped := s.SetMuted(true)
	assert.True(t, changed)
	assert.True(t, stopped, "muting a speaker silences it")
	assert.Equal(t, voice.DropMuted, s.Accept(t0, 2, 2*frameTs, 80))
	changed, _ = s.SetMuted(true)
	assert.False(t, changed, "already muted")
	changed, stopped = s.SetMuted(false)
	assert.True(t, changed)
	assert.False(t, stopped)
	assert.Equal(t, voice.Forward, s.Accept(t0, 3, 3*frameTs, 80))
	assert.True(t, s.SetDeafened(true))
	assert.False(t, s.SetDeafened(true))
	assert.True(t, s.Deafened())
}

func TestConfigFill(t *testing.T) {
	var c voice.Config
	require.NoError(t, c.Fill())
	assert.Equal(t, voice.DefaultBitrateBps, c.BitrateBps)
	assert.Equal(t, 4000, c.BurstBytes, "half a second of 64 kbit/s")
	assert.Equal(t, 25, c.FrameBurst)
	for name, bad := range map[string]voice.Config{
		"one member":      {MaxMembers: 1},
		"huge frames":     {MaxFrameBytes: 100_000},
		"burst below max": {MaxFrameBytes: 500, BurstBytes: 100},
		"negative lag":    {MaxLag: -1},
	} {
		assert.Error(t, bad.Fill(), name)
	}
}
