package frame

import (
	"bytes"
	"os"
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

func sessionSamples() map[string]Frame {
	return map[string]Frame{
		"hello":   &Hello{Version: ProtocolVersion, Token: "tw1.abc.def", ClientName: "unity", ClientVersion: "1.2.3", ResumeID: "r-1", Resume: true},
		"welcome": &Welcome{SessionID: 1 << 40, UserID: "u-1", DisplayName: "Ada", ServerTimeUs: 1_700_000_000_000_000, MaxFrame: 16384, MaxFramesPerSec: 200, HeartbeatMs: 1000, IdleTimeoutMs: 10000, ResumeID: "r"},
		"error":   &Error{Code: netcode.CodeRoomFull, Message: "room is full", Ref: 77},
		"ping":    &Ping{ClientTimeUs: -5},
		"pong":    &Pong{ClientTimeUs: 12, ServerTimeUs: 1_700_000_000_000_000},
		"close":   &Close{Code: netcode.CodeServerShutdown, Reason: "maintenance"},
		"echo":    &Echo{Seq: 42, SentUs: 99, Payload: bytes.Repeat([]byte{7}, 64)},
		"ok":      &OK{Ref: 9},
		"resume":  &Resume{Version: ProtocolVersion, SessionID: 1 << 40, ResumeID: "Qk1hY2stc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWZnaGlq", Received: 1<<32 + 7, ClientName: "unity", ClientVersion: "1.2.3"},
		"ack":     &Ack{Received: 1<<32 + 9},
		"notice":  &Notice{Code: netcode.CodeDraining, Text: "restarting for an update in 5 minutes"},
		"welcome_resumed": &Welcome{SessionID: 7, UserID: "u-1", DisplayName: "Ada", ServerTimeUs: 1, MaxFrame: 16384, MaxFramesPerSec: 200, HeartbeatMs: 1000, IdleTimeoutMs: 10000,
			ResumeID: "Qk1hY2stc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWZnaGlq", ResumeWindowMs: 30000, Resumed: true, Received: 12, Replay: 3},
	}
}

// newOf returns a new zero frame of f's type.
func newOf(f Frame) Frame {
	return reflect.New(reflect.TypeOf(f).Elem()).Interface().(Frame)
}

func TestSessionFramesRoundTrip(t *testing.T) {
	enc := NewEncoder()
	dec := NewDecoder()
	for name, f := range sessionSamples() {
		t.Run(name, func(t *testing.T) {
			b, err := enc.Encode(f)
			require.NoError(t, err)
			k, err := Peek(b)
			require.NoError(t, err)
			assert.Equal(t, f.Kind(), k)
			got := newOf(f)
			require.NoError(t, dec.Decode(b, got))
			assert.Equal(t, f, got)
			// The same bytes decode with the generic msgpack library as an array.
			var generic []any
			require.NoError(t, msgpack.Unmarshal(b, &generic))
			assert.EqualValues(t, f.Kind(), generic[0])
		})
	}
}

func TestPeekRef(t *testing.T) {
	b, err := Marshal(&Error{Code: netcode.CodeBadRequest, Ref: 5})
	require.NoError(t, err)
	k, ref, err := PeekRef(b)
	require.NoError(t, err)
	assert.Equal(t, KindError, k)
	assert.Equal(t, uint32(5), ref)

	b, err = Marshal(&OK{Ref: 123456})
	require.NoError(t, err)
	_, ref, err = PeekRef(b)
	require.NoError(t, err)
	assert.Equal(t, uint32(123456), ref)

	b, err = Marshal(&Ping{ClientTimeUs: 1})
	require.NoError(t, err)
	_, ref, err = PeekRef(b)
	require.NoError(t, err)
	assert.Zero(t, ref)
}

func TestOlderAndNewerPeers(t *testing.T) {
	// A newer peer appends a field: it is skipped.
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	require.NoError(t, enc.EncodeArrayLen(4))
	require.NoError(t, enc.EncodeUint8(uint8(KindPong)))
	require.NoError(t, enc.EncodeInt(1))
	require.NoError(t, enc.EncodeInt(2))
	require.NoError(t, enc.EncodeMap(map[string]any{"future": []any{1, "x"}}))
	var p Pong
	require.NoError(t, Unmarshal(buf.Bytes(), &p))
	assert.Equal(t, Pong{ClientTimeUs: 1, ServerTimeUs: 2}, p)

	// An older peer omits optional trailing fields: they read as zero.
	buf.Reset()
	require.NoError(t, enc.EncodeArrayLen(3))
	require.NoError(t, enc.EncodeUint8(uint8(KindHello)))
	require.NoError(t, enc.EncodeUint16(1))
	require.NoError(t, enc.EncodeString("tok"))
	var h Hello
	require.NoError(t, Unmarshal(buf.Bytes(), &h))
	assert.Equal(t, Hello{Version: 1, Token: "tok"}, h)
}

// Fields a newer peer appends are skipped whatever their type, and a
// skipped field's length header is checked against the bytes left before
// anything is allocated for it.
func TestSkippedFieldsAreGuarded(t *testing.T) {
	// [5, 1, 2, extra]: a Pong with one field more than it knows.
	withExtra := func(extra ...byte) []byte { return append([]byte{0x94, 0x05, 0x01, 0x02}, extra...) }
	valid := map[string][]byte{
		"str8":   {0xd9, 0x03, 'a', 'b', 'c'},
		"bin16":  {0xc5, 0x00, 0x02, 0xff, 0xfe},
		"fixext": {0xd4, 0x01, 0x07},
		"ext8":   {0xc7, 0x02, 0x05, 0x01, 0x02},
		"nested": {0x92, 0x81, 0xa1, 'k', 0xc4, 0x01, 0x00, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},
		"nil":    {0xc0},
	}
	for name, extra := range valid {
		t.Run("skips "+name, func(t *testing.T) {
			var p Pong
			require.NoError(t, Unmarshal(withExtra(extra...), &p))
			assert.Equal(t, Pong{ClientTimeUs: 1, ServerTimeUs: 2}, p)
		})
	}
	hostile := map[string][]byte{
		"bin32 claims 4G":   {0xc6, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3},
		"str32 claims 4G":   {0xdb, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3},
		"ext32 claims 4G":   {0xc9, 0xff, 0xff, 0xff, 0xf0, 0x01, 1, 2},
		"array32 claims 4G": {0xdd, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3},
		"map32 claims 4G":   {0xdf, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3},
		"nested too deep":   bytes.Repeat([]byte{0x91}, 100),
	}
	dec := NewDecoder()
	for name, extra := range hostile {
		t.Run("refuses "+name, func(t *testing.T) {
			b := withExtra(extra...)
			var p Pong
			err := dec.Decode(b, &p)
			require.Error(t, err)
			assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err), "%v", err)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range 100 {
				_ = dec.Decode(b, &p)
			}
			runtime.ReadMemStats(&after)
			perOp := (after.TotalAlloc - before.TotalAlloc) / 100
			assert.Less(t, perOp, uint64(4096), "a %d-byte frame must cost no more than its error", len(b))
		})
	}
}

func TestHostileInputIsRefused(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		code netcode.Code
		f    Frame
	}{
		"empty":             {[]byte{}, netcode.CodeBadFrame, &Ping{}},
		"not an array":      {[]byte{0xa3, 'a', 'b', 'c'}, netcode.CodeBadFrame, &Ping{}},
		"wrong kind":        {[]byte{0x92, 0x05, 0x01}, netcode.CodeBadFrame, &Ping{}},
		"missing fields":    {[]byte{0x91, 0x04}, netcode.CodeBadFrame, &Ping{}},
		"array32 claims 4G": {[]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x07}, netcode.CodeBadFrame, &Echo{}},
		// Echo with a bin32 payload claiming 4 GiB: refused before allocating.
		"bin32 claims 4G": {[]byte{0x94, 0x07, 0x01, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff}, netcode.CodeFrameTooLarge, &Echo{}},
		// bin32 claiming more than remains, under the limit.
		"bin beyond end": {[]byte{0x94, 0x07, 0x01, 0x01, 0xc6, 0x00, 0x00, 0x10, 0x00, 1, 2}, netcode.CodeBadFrame, &Echo{}},
		// A token longer than MaxTokenLen.
		"str32 token":      {[]byte{0x93, 0x01, 0x01, 0xdb, 0x00, 0x01, 0x00, 0x00}, netcode.CodeFrameTooLarge, &Hello{}},
		"version overflow": {[]byte{0x93, 0x01, 0xce, 0x00, 0x01, 0x00, 0x00, 0xa0}, netcode.CodeBadFrame, &Hello{}},
		"trailing bytes":   {[]byte{0x92, 0x04, 0x01, 0x00}, netcode.CodeBadFrame, &Ping{}},
		"nested deep":      {append([]byte{0x93, 0x05, 0x01, 0x02}, bytes.Repeat([]byte{0x91}, 1000)...), netcode.CodeBadFrame, &Pong{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := Unmarshal(c.in, c.f)
			require.Error(t, err)
			assert.Equal(t, c.code, netcode.CodeOf(err), "%v", err)
		})
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	enc := NewEncoder()
	for name, f := range sessionSamples() {
		_, err := enc.Encode(f) // warm the buffer
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, name)
	}
}

func TestEchoDecodeReusesPayload(t *testing.T) {
	b, err := Marshal(&Echo{Seq: 1, Payload: make([]byte, 64)})
	require.NoError(t, err)
	dec := NewDecoder()
	var e Echo
	require.NoError(t, dec.Decode(b, &e))
	allocs := testing.AllocsPerRun(200, func() {
		if err := dec.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzSessionFrames drives every session decoder from one corpus: the
// kind is taken from the input.
func FuzzSessionFrames(f *testing.F) {
	for _, fr := range sessionSamples() {
		b, err := Marshal(fr)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x07})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Peek(b)
		_, _, _ = PeekRef(b)
		if err != nil {
			return
		}
		if fr := sessionFrameOf(k); fr != nil {
			fuzzSessionDecode(t, fr, b)
		}
	})
}

// sessionFrameOf returns a new zero session frame (or OK) of kind k, nil
// for other kinds.
func sessionFrameOf(k Kind) Frame {
	for _, s := range sessionSamples() {
		if s.Kind() == k {
			return newOf(s)
		}
	}
	return nil
}

// fuzzSessionDecode decodes b into fr: a refusal must carry an input
// code, and what decodes must survive decode -> encode -> decode.
func fuzzSessionDecode(t *testing.T, fr Frame, b []byte) {
	if err := Unmarshal(b, fr); err != nil {
		require.NotEqual(t, netcode.CodeInternal, netcode.CodeOf(err))
		return
	}
	b2, err := Marshal(fr)
	require.NoError(t, err)
	again := newOf(fr)
	require.NoError(t, Unmarshal(b2, again))
	require.Equal(t, fr, again)
}

// fuzzSessionKind fuzzes one session decoder, seeded with a real frame of
// its kind, every truncation of it, and hostile headers.
func fuzzSessionKind(f *testing.F, k Kind) {
	fr := sessionFrameOf(k)
	require.NotNil(f, fr)
	for _, s := range sessionSamples() {
		if s.Kind() != k {
			continue
		}
		b, err := Marshal(s)
		require.NoError(f, err)
		for n := len(b); n > 0; n-- {
			f.Add(b[:n])
		}
		f.Add(append(b, 0xc0)) // trailing bytes after the frame
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, byte(k)})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzSessionDecode(t, newOf(fr), b) })
}

// One target per session decoder, so that `go test -fuzz` can focus on one.
func FuzzHello(f *testing.F)   { fuzzSessionKind(f, KindHello) }
func FuzzWelcome(f *testing.F) { fuzzSessionKind(f, KindWelcome) }
func FuzzError(f *testing.F)   { fuzzSessionKind(f, KindError) }
func FuzzPing(f *testing.F)    { fuzzSessionKind(f, KindPing) }
func FuzzPong(f *testing.F)    { fuzzSessionKind(f, KindPong) }
func FuzzClose(f *testing.F)   { fuzzSessionKind(f, KindClose) }
func FuzzEcho(f *testing.F)    { fuzzSessionKind(f, KindEcho) }
func FuzzOK(f *testing.F)      { fuzzSessionKind(f, KindOK) }
func FuzzResume(f *testing.F)  { fuzzSessionKind(f, KindResume) }
func FuzzAck(f *testing.F)     { fuzzSessionKind(f, KindAck) }
func FuzzNotice(f *testing.F)  { fuzzSessionKind(f, KindNotice) }

func BenchmarkEncode(b *testing.B) {
	enc := NewEncoder()
	for name, f := range sessionSamples() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.Encode(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	dec := NewDecoder()
	for name, f := range sessionSamples() {
		buf, err := Marshal(f)
		require.NoError(b, err)
		out := newOf(f)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := dec.Decode(buf, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The worked example in docs/PROTOCOL.md section 1 is what the encoder
// writes.
func TestProtocolDocPingExample(t *testing.T) {
	b, err := Marshal(&Ping{ClientTimeUs: 1_700_000_000_000_000})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x92, 0x04, 0xcf, 0x00, 0x06, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0x00}, b)
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	require.NoError(t, err)
	for _, line := range []string{"92                         fixarray, 2 elements", "04                         kind 4 (Ping)", "cf 00 06 0a 24 18 1e 40 00 uint64 1700000000000000"} {
		assert.Contains(t, string(doc), line)
	}
}
