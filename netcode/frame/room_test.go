package frame

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
)

// roomSamples are real frames of every room kind, used as test cases and
// fuzz seeds.
func roomSamples() map[string]Frame {
	return map[string]Frame{
		"create": &RoomCreate{Ref: 7, Type: "relay", Label: "eu-1", Capacity: 8, TickRate: 60,
			Private: true, EmptyTimeoutMs: 30000, Params: []byte{1, 2, 3}},
		"join": &RoomJoin{Ref: 9, RoomID: 0xdeadbeefcafe},
		"join_or_create": &RoomJoinOrCreate{Ref: 1, Type: "arena", Label: "ranked", Capacity: 4,
			TickRate: 30, EmptyTimeoutMs: 5000, Params: []byte("x")},
		"joined": &RoomJoined{Ref: 3, RoomID: 42, Type: "relay", Label: "l", TickRate: 20, Tick: 1234,
			ServerTimeUs: 1_700_000_000_000_000, Capacity: 16, You: 2,
			Members: []RoomMember{{Member: 1, UserID: "u1", DisplayName: "Ann"}, {Member: 2, UserID: "u2", DisplayName: "Bob"}}},
		"leave":  &RoomLeave{Ref: 4, RoomID: 42},
		"event":  &RoomEvent{RoomID: 42, Event: RoomEventJoined, Member: 3, UserID: "u3", DisplayName: "Cy"},
		"closed": &RoomClosed{RoomID: 42, Code: netcode.CodeRoomCrashed, Message: "handler panicked"},
		"input":  &RoomInput{Ref: 0, RoomID: 42, Seq: 77, Data: []byte{9, 8, 7}},
		"tick": &RoomTick{RoomID: 42, Tick: 99, ServerTimeUs: 123456789,
			Inputs: []TickInput{{Member: 1, Seq: 1, Data: []byte("a")}, {Member: 2, Seq: 5, Data: []byte("bb")}}},
		"data": &RoomData{RoomID: 42, Tick: 100, ServerTimeUs: -5, Data: []byte("snapshot")},
		"list": &RoomList{Ref: 11, Type: "relay", Label: "", Limit: 50},
		"redirect": &RoomRedirect{Ref: 5, RoomID: 0xfeedface, NodeID: "eu-2", URL: "https://eu2.example.com:7780",
			Ticket: bytes.Repeat([]byte{0xab}, 60), TTLMs: 10000},
		"join_ticket": &RoomJoinTicket{Ref: 6, RoomID: 0xfeedface, Ticket: bytes.Repeat([]byte{0xab}, 60)},
		"list_result": &RoomListResult{Ref: 11, Rooms: []RoomInfo{{RoomID: 1, Type: "relay", Label: "a", Members: 3, Capacity: 8, TickRate: 60}}},
	}
}

// newRoomFrame returns an empty frame of kind k, or nil.
func newRoomFrame(k Kind) Frame {
	switch k {
	case KindRoomCreate:
		return &RoomCreate{}
	case KindRoomJoin:
		return &RoomJoin{}
	case KindRoomJoinOrCreate:
		return &RoomJoinOrCreate{}
	case KindRoomJoined:
		return &RoomJoined{}
	case KindRoomLeave:
		return &RoomLeave{}
	case KindRoomEvent:
		return &RoomEvent{}
	case KindRoomClosed:
		return &RoomClosed{}
	case KindRoomInput:
		return &RoomInput{}
	case KindRoomTick:
		return &RoomTick{}
	case KindRoomData:
		return &RoomData{}
	case KindRoomList:
		return &RoomList{}
	case KindRoomListResult:
		return &RoomListResult{}
	case KindRoomRedirect:
		return &RoomRedirect{}
	case KindRoomJoinTicket:
		return &RoomJoinTicket{}
	}
	return nil
}

func TestRoomFramesRoundTrip(t *testing.T) {
	for name, f := range roomSamples() {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(f)
			require.NoError(t, err)
			k, ref, err := PeekRef(b)
			require.NoError(t, err)
			assert.Equal(t, f.Kind(), k)
			if r, ok := f.(Refer); ok {
				r.SetRef(ref) // no-op: checks PeekRef agrees with field 1
			}
			got := newRoomFrame(k)
			require.NotNil(t, got)
			require.NoError(t, Unmarshal(b, got))
			assert.Equal(t, f, got)
		})
	}
}

func TestRoomFramesPeekRef(t *testing.T) {
	b, err := Marshal(&RoomJoin{Ref: 12345, RoomID: 1})
	require.NoError(t, err)
	_, ref, err := PeekRef(b)
	require.NoError(t, err)
	assert.Equal(t, uint32(12345), ref)
}

func TestRoomFramesRejectOversize(t *testing.T) {
	cases := map[string]struct {
		f    Frame
		into Frame
		code netcode.Code
	}{
		"input data": {&RoomInput{RoomID: 1, Data: make([]byte, MaxRoomInput+1)}, &RoomInput{}, netcode.CodeFrameTooLarge},
		"params":     {&RoomCreate{Type: "relay", Params: make([]byte, MaxRoomParams+1)}, &RoomCreate{}, netcode.CodeFrameTooLarge},
		"type name":  {&RoomJoinOrCreate{Type: string(make([]byte, MaxNameLen+1))}, &RoomJoinOrCreate{}, netcode.CodeFrameTooLarge},
		"tick rate":  {&RoomCreate{Type: "relay", TickRate: MaxRoomTickRate + 1}, &RoomCreate{}, netcode.CodeBadFrame},
		"wrong kind": {&RoomJoin{Ref: 1}, &RoomLeave{}, netcode.CodeBadFrame},
		"ticket":     {&RoomJoinTicket{Ref: 1, Ticket: make([]byte, MaxTicketLen+1)}, &RoomJoinTicket{}, netcode.CodeFrameTooLarge},
		"url":        {&RoomRedirect{Ref: 1, URL: string(make([]byte, MaxNodeURLLen+1))}, &RoomRedirect{}, netcode.CodeFrameTooLarge},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(c.f)
			require.NoError(t, err)
			err = Unmarshal(b, c.into)
			require.Error(t, err)
			assert.Equal(t, c.code, netcode.CodeOf(err))
		})
	}
}

func TestRoomTickDecodeReusesBuffers(t *testing.T) {
	src := &RoomTick{RoomID: 1, Tick: 2, Inputs: []TickInput{{Member: 1, Seq: 1, Data: []byte("abcd")}, {Member: 2, Seq: 2, Data: []byte("efgh")}}}
	b, err := Marshal(src)
	require.NoError(t, err)
	var dst RoomTick
	d := NewDecoder()
	require.NoError(t, d.Decode(b, &dst))
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(b, &dst); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "steady-state RoomTick decode must not allocate")
	var in RoomInput
	ib, err := Marshal(&RoomInput{RoomID: 3, Seq: 4, Data: []byte("payload")})
	require.NoError(t, err)
	require.NoError(t, d.Decode(ib, &in))
	allocs = testing.AllocsPerRun(100, func() {
		if err := d.Decode(ib, &in); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "steady-state RoomInput decode must not allocate")
}

func TestRoomTickEncodeAllocs(t *testing.T) {
	f := &RoomTick{RoomID: 1, Tick: 2, Inputs: []TickInput{{Member: 1, Seq: 1, Data: []byte("abcd")}}}
	e := NewEncoder()
	_, err := e.Encode(f)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := e.Encode(f); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// fuzzRoomKind checks that decoding arbitrary bytes as kind k never panics
// and that whatever decodes re-encodes to bytes that decode to the same
// frame.
func fuzzRoomKind(f *testing.F, k Kind) {
	for _, s := range roomSamples() {
		b, err := Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x92, byte(k), 0x00})
	f.Add([]byte{0x93, byte(k), 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		first := newRoomFrame(k)
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
		second := newRoomFrame(k)
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

func FuzzRoomCreate(f *testing.F)       { fuzzRoomKind(f, KindRoomCreate) }
func FuzzRoomJoin(f *testing.F)         { fuzzRoomKind(f, KindRoomJoin) }
func FuzzRoomJoinOrCreate(f *testing.F) { fuzzRoomKind(f, KindRoomJoinOrCreate) }
func FuzzRoomJoined(f *testing.F)       { fuzzRoomKind(f, KindRoomJoined) }
func FuzzRoomLeave(f *testing.F)        { fuzzRoomKind(f, KindRoomLeave) }
func FuzzRoomEvent(f *testing.F)        { fuzzRoomKind(f, KindRoomEvent) }
func FuzzRoomClosed(f *testing.F)       { fuzzRoomKind(f, KindRoomClosed) }
func FuzzRoomInput(f *testing.F)        { fuzzRoomKind(f, KindRoomInput) }
func FuzzRoomTick(f *testing.F)         { fuzzRoomKind(f, KindRoomTick) }
func FuzzRoomData(f *testing.F)         { fuzzRoomKind(f, KindRoomData) }
func FuzzRoomList(f *testing.F)         { fuzzRoomKind(f, KindRoomList) }
func FuzzRoomListResult(f *testing.F)   { fuzzRoomKind(f, KindRoomListResult) }
func FuzzRoomRedirect(f *testing.F)     { fuzzRoomKind(f, KindRoomRedirect) }
func FuzzRoomJoinTicket(f *testing.F)   { fuzzRoomKind(f, KindRoomJoinTicket) }

// TestRoomTickDocumentedBytes pins the example in docs/PROTOCOL.md §4.
func TestRoomTickDocumentedBytes(t *testing.T) {
	b, err := Marshal(&RoomTick{RoomID: 42, Tick: 1234, ServerTimeUs: 1764115200000000,
		Inputs: []TickInput{{Member: 2, Seq: 7, Data: []byte{1, 2}}}})
	require.NoError(t, err)
	want := []byte{0x96, 0x18, 0x00, 0x2a, 0xcd, 0x04, 0xd2, 0xcf, 0x00, 0x06, 0x44, 0x74, 0x13, 0xd6, 0xc0, 0x00,
		0x91, 0x93, 0x02, 0x07, 0xc4, 0x02, 0x01, 0x02}
	assert.Equal(t, want, b)
}

// TestRoomFramesMinimumFields pins the minimum field counts documented in
// docs/PROTOCOL.md §4: a frame cut to its minimum decodes (the missing
// fields read as zero), one field fewer is malformed.
func TestRoomFramesMinimumFields(t *testing.T) {
	for k, min := range map[Kind]int{
		KindRoomCreate: 2, KindRoomJoin: 2, KindRoomJoinOrCreate: 2, KindRoomJoined: 2, KindRoomLeave: 2,
		KindRoomEvent: 4, KindRoomClosed: 3, KindRoomInput: 4, KindRoomTick: 4, KindRoomData: 5,
		KindRoomList: 1, KindRoomListResult: 2, KindRoomRedirect: 6, KindRoomJoinTicket: 3,
	} {
		f := newRoomFrame(k)
		if e, ok := f.(*RoomEvent); ok {
			e.Event = RoomEventJoined // 0 is no event
		}
		b, err := Marshal(f)
		require.NoError(t, err)
		var fields []any
		require.NoError(t, msgpack.Unmarshal(b, &fields))
		cut := func(n int) []byte {
			out, err := msgpack.Marshal(fields[:1+n])
			require.NoError(t, err)
			return out
		}
		assert.NoError(t, Unmarshal(cut(min), newRoomFrame(k)), "kind %d cut to %d fields", k, min)
		err = Unmarshal(cut(min-1), newRoomFrame(k))
		assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err), "kind %d with %d fields", k, min-1)
	}
}
