package frame

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

// voiceSamples are real frames of every voice kind, used as test cases
// and fuzz seeds.
func voiceSamples() map[string]Frame {
	opus := []byte{0x78, 0x01, 0x02, 0x03, 0xfe, 0xff} // a TOC byte and data
	return map[string]Frame{
		"send":  &VoiceSend{Ref: 0, RoomID: 0xF0E1D2C3B4A59687, Seq: 70000, Timestamp: 4_294_966_336, Payload: opus},
		"frame": &VoiceFrame{RoomID: 42, Member: 3, Seq: 1, Timestamp: 960, Payload: opus},
		"set":   &VoiceSet{Ref: 9, RoomID: 42, Muted: true, Deafened: false},
		"event": &VoiceEvent{RoomID: 42, Member: 2, Event: VoiceSpeaking},
	}
}

func newVoiceFrame(k Kind) Frame {
	switch k {
	case KindVoiceSend:
		return &VoiceSend{}
	case KindVoiceFrame:
		return &VoiceFrame{}
	case KindVoiceSet:
		return &VoiceSet{}
	case KindVoiceEvent:
		return &VoiceEvent{}
	}
	return nil
}

func TestVoiceFramesRoundTrip(t *testing.T) {
	for name, f := range voiceSamples() {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(f)
			require.NoError(t, err)
			k, ref, err := PeekRef(b)
			require.NoError(t, err)
			assert.Equal(t, f.Kind(), k)
			if r, ok := f.(Refer); ok {
				r.SetRef(ref)
			}
			got := newVoiceFrame(k)
			require.NotNil(t, got)
			require.NoError(t, Unmarshal(b, got))
			assert.Equal(t, f, got)
		})
	}
}

func TestVoiceFramesRefuseBadInput(t *testing.T) {
	cases := map[string]struct {
		f    Frame
		into Frame
		code netcode.Code
	}{
		"send payload":    {&VoiceSend{RoomID: 1, Payload: make([]byte, MaxVoicePayload+1)}, &VoiceSend{}, netcode.CodeFrameTooLarge},
		"forward payload": {&VoiceFrame{RoomID: 1, Payload: make([]byte, MaxVoicePayload+1)}, &VoiceFrame{}, netcode.CodeFrameTooLarge},
		"no event":        {&VoiceEvent{RoomID: 1, Member: 1}, &VoiceEvent{}, netcode.CodeBadFrame},
		"unknown event":   {&VoiceEvent{RoomID: 1, Member: 1, Event: 7}, &VoiceEvent{}, netcode.CodeBadFrame},
		"wrong kind":      {&VoiceSend{RoomID: 1}, &VoiceFrame{}, netcode.CodeBadFrame},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(c.f)
			require.NoError(t, err)
			err = Unmarshal(b, c.into)
			require.Error(t, err)
			assert.Equal(t, c.code, netcode.CodeOf(err), "%v", err)
		})
	}
	// A sequence number or timestamp above 32 bits is refused, not cut.
	b, err := msgpack.Marshal([]any{uint8(KindVoiceSend), 0, 1, uint64(1) << 32, 0, []byte{1}})
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(Unmarshal(b, &VoiceSend{})))
}

// TestVoiceFramesMinimumFields pins the minimum field counts documented
// in docs/PROTOCOL.md §4.
func TestVoiceFramesMinimumFields(t *testing.T) {
	for k, min := range map[Kind]int{KindVoiceSend: 5, KindVoiceFrame: 6, KindVoiceSet: 4, KindVoiceEvent: 4} {
		f := newVoiceFrame(k)
		if e, ok := f.(*VoiceEvent); ok {
			e.Event = VoiceSilent
		}
		b, err := Marshal(f)
		require.NoError(t, err)
		var fields []any
		require.NoError(t, msgpack.Unmarshal(b, &fields))
		require.Len(t, fields, min+1, "kind %d encodes exactly its fields", k)
		cut, err := msgpack.Marshal(fields[:min])
		require.NoError(t, err)
		assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(Unmarshal(cut, newVoiceFrame(k))), "kind %d with %d fields", k, min-1)
		// A newer peer's extra field is skipped.
		longer, err := msgpack.Marshal(append(fields, "extra"))
		require.NoError(t, err)
		assert.NoError(t, Unmarshal(longer, newVoiceFrame(k)), "kind %d with an extra field", k)
	}
}

// The forwarding path decodes VoiceSend and encodes VoiceFrame once per
// frame: neither may allocate in steady state.
func TestVoiceFramesAllocs(t *testing.T) {
	b, err := Marshal(voiceSamples()["send"])
	require.NoError(t, err)
	d := NewDecoder()
	var in VoiceSend
	require.NoError(t, d.Decode(b, &in))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if err := d.Decode(b, &in); err != nil {
			t.Fatal(err)
		}
	}), "VoiceSend decode")
	e := NewEncoder()
	out := voiceSamples()["frame"]
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if _, err := e.Encode(out); err != nil {
			t.Fatal(err)
		}
	}), "VoiceFrame encode")
}

// TestVoiceFrameDocumentedBytes pins the example in docs/PROTOCOL.md §4.
func TestVoiceFrameDocumentedBytes(t *testing.T) {
	b, err := Marshal(&VoiceFrame{RoomID: 42, Member: 2, Seq: 7, Timestamp: 6720, Payload: []byte{0x78, 0x01}})
	require.NoError(t, err)
	want := []byte{0x97, 0x29, 0x00, 0x2a, 0x02, 0x07, 0xcd, 0x1a, 0x40, 0xc4, 0x02, 0x78, 0x01}
	assert.Equal(t, want, b)
}

func TestVoiceEventNames(t *testing.T) {
	checkEnum(t, map[VoiceEventType]string{
		VoiceSpeaking: "speaking", VoiceSilent: "silent", VoiceMuted: "muted", VoiceUnmuted: "unmuted",
		VoiceDeafened: "deafened", VoiceUndeafened: "undeafened",
	}, ParseVoiceEventType)
	assert.Equal(t, []uint8{1, 2, 3, 4, 5, 6}, []uint8{uint8(VoiceSpeaking), uint8(VoiceSilent), uint8(VoiceMuted),
		uint8(VoiceUnmuted), uint8(VoiceDeafened), uint8(VoiceUndeafened)})
}

func fuzzVoiceKind(f *testing.F, k Kind) {
	for _, s := range voiceSamples() {
		b, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x96, byte(k), 0x00, 0x01, 0x02, 0x03, 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x97, byte(k), 0x00, 0x01, 0x02, 0x03, 0x04, 0xc5, 0x03, 0xe9})
	f.Fuzz(func(t *testing.T, b []byte) {
		first := newVoiceFrame(k)
		if err := Unmarshal(b, first); err != nil {
			code := netcode.CodeOf(err)
			if code != netcode.CodeBadFrame && code != netcode.CodeFrameTooLarge {
				t.Fatalf("decode error with code %v: %v", code, err)
			}
			return
		}
		enc1, err := Marshal(first)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		second := newVoiceFrame(k)
		if err := Unmarshal(enc1, second); err != nil {
			t.Fatalf("decode of re-encoded frame: %v", err)
		}
		enc2, err := Marshal(second)
		if err != nil {
			t.Fatalf("second re-encode: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("round trip differs:\n%x\n%x", enc1, enc2)
		}
	})
}

func FuzzVoiceSend(f *testing.F)  { fuzzVoiceKind(f, KindVoiceSend) }
func FuzzVoiceFrame(f *testing.F) { fuzzVoiceKind(f, KindVoiceFrame) }
func FuzzVoiceSet(f *testing.F)   { fuzzVoiceKind(f, KindVoiceSet) }
func FuzzVoiceEvent(f *testing.F) { fuzzVoiceKind(f, KindVoiceEvent) }
