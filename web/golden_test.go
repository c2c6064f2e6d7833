package web_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// The golden frames are the Go reference encoder's bytes for every frame
// type, which the SDK's unit tests (web/test) decode and re-encode. A
// change to the Go encoder fails TestGoldenFrames until the file is
// regenerated with:
//
//	go test ./web -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files under test/golden from the Go side")

// The golden files the SDK's tests read.
const (
	goldenPath = "test/golden/frames.json"
	codesPath  = "test/golden/codes.json"
)

// frameDir is the Go source of the frame types, read to check that every
// kind has a golden entry.
const frameDir = "../netcode/frame"

// Representative values. Room ids are random uint64s, so one above 2^53
// (a JS number cannot hold it); session, group and message ids are
// counters and database row ids, so they stay below 2^53 but take the
// wide msgpack forms (above 2^32, and the largest integer a float64 holds
// exactly). Realistic times; a non-ASCII display name.
const (
	bigRoomID uint64 = 0xF0E1D2C3B4A59687
	sessionID uint64 = 1<<32 + 1
	groupID   uint64 = 4_000_000_123
	msgID     uint64 = maxSafeInt
	callID    uint64 = 1<<52 + 3
	nowUs     int64  = 1764115200000000
	zoe              = "Zoë 🎮"
	// resumeSecret has the form of the server's: base64url, 32 bytes.
	resumeSecret = "q0Nf3x-7PZ2d9hKp1LwYc8eTnR4uVbGmA6sJiOzE5Qk"
)

var (
	someBytes = []byte{0x01, 0x02, 0xfe, 0xff, 0x00, 0x7f}
	chat      = frame.ChatMessage{
		ID: msgID, GroupID: groupID, FromUserID: "u_ann", ToUserID: "u_bob",
		TimeUs: nowUs, Body: "hello " + zoe + " <&>", FromName: zoe,
	}
	friend = frame.Friend{
		UserID: "u_bob", Username: "bob", DisplayName: zoe, State: frame.FriendAccepted,
		Presence: frame.PresenceAway, StatusText: "brb 🍕", LastSeenUs: nowUs - 60_000_000,
	}
	group = frame.Group{
		ID: groupID, Name: "Raiders " + zoe, Open: true, Role: frame.RoleAdmin, Members: 42, OwnerID: "u_ann",
	}
)

// goldenFrames is one representative of every frame type, every field
// set (pushes carry ref 0, as the protocol has them), in kind order.
func goldenFrames() []frame.Frame {
	return []frame.Frame{
		// Session, kinds 1–10.
		&frame.Hello{Version: frame.ProtocolVersion, Token: "tw1.eyJ1IjoidV9hbm4ifQ.c2ln", ClientName: "tickwire-js " + zoe, ClientVersion: "0.1.0", ResumeID: "r_0123456789abcdef", Resume: true},
		&frame.Welcome{SessionID: sessionID, UserID: "u_ann", DisplayName: zoe, ServerTimeUs: nowUs, MaxFrame: 16384, MaxFramesPerSec: 200, HeartbeatMs: 1000, IdleTimeoutMs: 10000,
			ResumeID: resumeSecret, ResumeWindowMs: 30000, Resumed: true, Received: maxSafeInt, Replay: 4_000_000_000},
		&frame.Error{Code: netcode.CodeRoomFull, Message: "room is full: " + zoe, Ref: 77},
		&frame.Ping{ClientTimeUs: nowUs + 123},
		&frame.Pong{ClientTimeUs: nowUs + 123, ServerTimeUs: nowUs + 456},
		&frame.Close{Code: netcode.CodeServerShutdown, Reason: "bye " + zoe},
		&frame.Echo{Seq: 4_000_000_000, SentUs: nowUs, Payload: someBytes},
		&frame.OK{Ref: 4_294_967_295},
		&frame.Resume{Version: frame.ProtocolVersion, SessionID: sessionID, ResumeID: resumeSecret, Received: maxSafeInt, ClientName: "tickwire-js " + zoe, ClientVersion: "0.1.0"},
		&frame.Ack{Received: 1<<32 + 3},
		&frame.Notice{Code: netcode.CodeDraining, Text: "restart in 5 minutes " + zoe},

		// Rooms, kinds 16–27.
		&frame.RoomCreate{Ref: 1, Type: "relay", Label: "arena " + zoe, Capacity: 16, TickRate: 30, Private: true, EmptyTimeoutMs: 30000, Params: someBytes},
		&frame.RoomJoin{Ref: 2, RoomID: bigRoomID},
		&frame.RoomJoinOrCreate{Ref: 3, Type: "relay", Label: "arena " + zoe, Capacity: 8, TickRate: 60, EmptyTimeoutMs: 15000, Params: someBytes},
		&frame.RoomJoined{Ref: 4, RoomID: bigRoomID, Type: "relay", Label: "arena " + zoe, TickRate: 30, Tick: 1<<32 + 5, ServerTimeUs: nowUs, Capacity: 16, You: 2,
			Members: []frame.RoomMember{{Member: 1, UserID: "u_ann", DisplayName: "Ann"}, {Member: 2, UserID: "u_bob", DisplayName: zoe}}},
		&frame.RoomLeave{Ref: 5, RoomID: bigRoomID},
		&frame.RoomEvent{RoomID: bigRoomID, Event: frame.RoomEventJoined, Member: 3, UserID: "u_cy", DisplayName: zoe},
		&frame.RoomClosed{RoomID: bigRoomID, Code: netcode.CodeRoomClosed, Message: "empty room timed out " + zoe},
		&frame.RoomInput{Ref: 6, RoomID: bigRoomID, Seq: 70000, Data: someBytes},
		&frame.RoomTick{RoomID: bigRoomID, Tick: 1<<32 + 5, ServerTimeUs: nowUs,
			Inputs: []frame.TickInput{{Member: 1, Seq: 7, Data: []byte{0x01, 0x02}}, {Member: 2, Seq: 70000, Data: someBytes}}},
		&frame.RoomData{RoomID: bigRoomID, Tick: 1<<32 + 6, ServerTimeUs: nowUs + 33333, Data: someBytes},
		&frame.RoomList{Ref: 7, Type: "relay", Label: "arena " + zoe, Limit: 50},
		&frame.RoomListResult{Ref: 7, Rooms: []frame.RoomInfo{
			{RoomID: bigRoomID, Type: "relay", Label: "arena " + zoe, Members: 3, Capacity: 16, TickRate: 30},
			{RoomID: 42, Type: "arena", Label: "lobby", Members: 1, Capacity: 1024, TickRate: 128},
		}},

		// Cluster redirects, kinds 28–29.
		&frame.RoomRedirect{Ref: 3, RoomID: bigRoomID, NodeID: "eu-2", URL: "https://eu2.example.com:7780", Ticket: someBytes, TTLMs: 10000},
		&frame.RoomJoinTicket{Ref: 8, RoomID: bigRoomID, Ticket: someBytes},

		// Voice rooms, kinds 40–43.
		&frame.VoiceSend{Ref: 9, RoomID: bigRoomID, Seq: 4_000_000_000, Timestamp: 4_294_966_336, Payload: someBytes},
		&frame.VoiceFrame{RoomID: bigRoomID, Member: 2, Seq: 70000, Timestamp: 960, Payload: someBytes},
		&frame.VoiceSet{Ref: 10, RoomID: bigRoomID, Muted: true, Deafened: true},
		&frame.VoiceEvent{RoomID: bigRoomID, Member: 3, Event: frame.VoiceUndeafened},

		// Social, kinds 64–105.
		&frame.FriendRequest{Ref: 8, Username: "bob"},
		&frame.FriendAccept{Ref: 9, UserID: "u_bob"},
		&frame.FriendDecline{Ref: 10, UserID: "u_bob"},
		&frame.FriendRemove{Ref: 11, UserID: "u_bob"},
		&frame.FriendBlock{Ref: 12, UserID: "u_bob"},
		&frame.FriendUnblock{Ref: 13, UserID: "u_bob"},
		&frame.FriendList{Ref: 14, AfterUserID: "u_al"},
		&frame.FriendListResult{Ref: 14, Friends: []frame.Friend{friend, {
			UserID: "u_cy", Username: "cy", DisplayName: "Cy", State: frame.FriendIncoming,
			Presence: frame.PresenceOnline, StatusText: "playing", LastSeenUs: nowUs,
		}}, More: true},
		&frame.FriendUpdate{Event: frame.FriendEventAccepted, Friend: friend},
		&frame.GroupCreate{Ref: 15, Name: "Raiders " + zoe, Open: true},
		&frame.GroupResult{Ref: 15, Group: group},
		&frame.GroupJoin{Ref: 16, GroupID: groupID},
		&frame.GroupInvite{Ref: 17, GroupID: groupID, UserID: "u_bob"},
		&frame.GroupAccept{Ref: 18, GroupID: groupID},
		&frame.GroupDecline{Ref: 19, GroupID: groupID},
		&frame.GroupLeave{Ref: 20, GroupID: groupID},
		&frame.GroupRemove{Ref: 21, GroupID: groupID, UserID: "u_bob"},
		&frame.GroupSetRole{Ref: 22, GroupID: groupID, UserID: "u_bob", Role: frame.RoleAdmin},
		&frame.GroupMembers{Ref: 23, GroupID: groupID, AfterUserID: "u_al", Limit: 100},
		&frame.GroupMembersResult{Ref: 23, GroupID: groupID, Members: []frame.Member{
			{UserID: "u_ann", DisplayName: "Ann", Role: frame.RoleOwner, Presence: frame.PresenceOnline},
			{UserID: "u_bob", DisplayName: zoe, Role: frame.RoleAdmin, Presence: frame.PresenceAway},
		}, More: true},
		&frame.GroupList{Ref: 24, AfterGroupID: groupID - 1},
		&frame.GroupListResult{Ref: 24, Groups: []frame.Group{group, {
			ID: 7, Name: "Guild", Open: true, Role: frame.RoleMember, Members: 3, OwnerID: "u_cy",
		}}, More: true},
		&frame.GroupUpdate{Event: frame.GroupEventRoleChanged, GroupID: groupID, GroupName: "Raiders " + zoe, UserID: "u_bob", ActorID: "u_ann", Role: frame.RoleAdmin},
		&frame.DirectSend{Ref: 25, ToUserID: "u_bob", Body: "hi " + zoe},
		&frame.GroupSend{Ref: 26, GroupID: groupID, Body: "gg " + zoe},
		&frame.MessageSent{Ref: 26, ID: msgID, TimeUs: nowUs},
		&frame.Message{ChatMessage: chat},
		&frame.MessageAck{Ref: 27, UpToID: msgID},
		&frame.History{Ref: 28, GroupID: groupID, UserID: "u_bob", BeforeID: msgID, Limit: 50},
		&frame.HistoryResult{Ref: 28, Messages: []frame.ChatMessage{chat, {
			ID: 5, GroupID: 0x7, FromUserID: "u_bob", ToUserID: "u_ann", TimeUs: nowUs - 1, Body: "older", FromName: "Bob",
		}}, More: true},
		&frame.SetPresence{Ref: 29, Presence: frame.PresenceAway, StatusText: "brb 🍕"},
		&frame.PresenceUpdate{UserID: "u_bob", Presence: frame.PresenceAway, StatusText: "brb 🍕", LastSeenUs: nowUs - 60_000_000},

		// Signaling and calls, kinds 108–113.
		&frame.Signal{Ref: 30, ToUserID: "u_bob", ToSession: sessionID, RoomID: bigRoomID, CallID: callID, Payload: someBytes},
		&frame.SignalRecv{FromUserID: "u_ann", FromSession: sessionID, RoomID: bigRoomID, CallID: callID, Payload: someBytes},
		&frame.CallInvite{Ref: 31, ToUserID: "u_bob"},
		&frame.CallAccept{Ref: 32, CallID: callID},
		&frame.CallEnd{Ref: 33, CallID: callID},
		&frame.CallUpdate{Ref: 31, CallID: callID, State: frame.CallEnded, Reason: frame.CallEndHungUp, CallerID: "u_ann", CallerName: zoe,
			CalleeID: "u_bob", CallerSession: sessionID, CalleeSession: sessionID + 1, ByUserID: "u_bob", TimeUs: nowUs},
	}
}

// docExample is a worked example of docs/PROTOCOL.md, with the bytes the
// document shows.
type docExample struct {
	where string
	f     frame.Frame
	hex   string
}

func docExamples() []docExample {
	return []docExample{
		{"docs/PROTOCOL.md §1", &frame.Ping{ClientTimeUs: 1700000000000000}, "9204cf00060a24181e4000"},
		{"docs/PROTOCOL.md §4", &frame.RoomTick{RoomID: 42, Tick: 1234, ServerTimeUs: nowUs,
			Inputs: []frame.TickInput{{Member: 2, Seq: 7, Data: []byte{0x01, 0x02}}}},
			"961800" + "2a" + "cd04d2" + "cf00064474" + "13d6c000" + "91" + "930207c4020102"},
	}
}

// goldenEntry is one frame in the golden file. Fields is the generic
// msgpack decode of the elements after the kind (see jsonValue).
type goldenEntry struct {
	Name    string `json:"name"`
	Example string `json:"example,omitempty"` // where the docs show this frame
	Kind    int    `json:"kind"`
	Hex     string `json:"hex"`
	Fields  []any  `json:"fields"`
}

// The JSON forms of the msgpack values JSON has no exact form for.
type (
	binValue struct {
		Bin string `json:"bin"` // lowercase hex
	}
	bigInt struct {
		Int string `json:"int"` // decimal, |v| > 2^53-1
	}
)

const maxSafeInt = 1<<53 - 1

// jsonValue converts a value msgpack decoded generically into its golden
// JSON form: integers as numbers when a float64 holds them exactly, else
// {"int": "<decimal>"}; bin as {"bin": "<hex>"}; str, bool, nil and
// arrays as themselves. Frames hold nothing else (no maps, floats, ext).
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, string:
		return v, nil
	case []byte:
		return binValue{Bin: hex.EncodeToString(v)}, nil
	case int8, int16, int32, int64:
		n := reflect.ValueOf(v).Int()
		if n < -maxSafeInt || n > maxSafeInt {
			return bigInt{Int: strconv.FormatInt(n, 10)}, nil
		}
		return n, nil
	case uint8, uint16, uint32, uint64:
		n := reflect.ValueOf(v).Uint()
		if n > maxSafeInt {
			return bigInt{Int: strconv.FormatUint(n, 10)}, nil
		}
		return n, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected msgpack value %T in a frame", v)
}

// entryOf encodes f with the reference encoder and decodes it generically.
func entryOf(t *testing.T, f frame.Frame) goldenEntry {
	t.Helper()
	name := reflect.TypeOf(f).Elem().Name()
	b, err := frame.Marshal(f)
	require.NoError(t, err, name)

	// The bytes decode back to the same frame: the values are valid.
	back := reflect.New(reflect.TypeOf(f).Elem()).Interface().(frame.Frame)
	require.NoError(t, frame.Unmarshal(b, back), name)
	require.Equal(t, f, back, "%s round-trips", name)

	var generic any
	require.NoError(t, msgpack.Unmarshal(b, &generic), name)
	arr, ok := generic.([]any)
	require.True(t, ok, "%s is a msgpack array", name)
	require.NotEmpty(t, arr, name)
	kind, err := jsonValue(arr[0])
	require.NoError(t, err, name)
	require.EqualValues(t, f.Kind(), kind, "%s: first element is the kind", name)
	fields, err := jsonValue(arr[1:])
	require.NoError(t, err, name)
	return goldenEntry{Name: name, Kind: int(f.Kind()), Hex: hex.EncodeToString(b), Fields: fields.([]any)}
}

func TestGoldenFrames(t *testing.T) {
	var entries []goldenEntry
	for _, f := range goldenFrames() {
		entries = append(entries, entryOf(t, f))
	}
	for _, ex := range docExamples() {
		e := entryOf(t, ex.f)
		require.Equal(t, ex.hex, e.Hex, "%s: the encoder writes the bytes the document shows", ex.where)
		e.Example = ex.where
		entries = append(entries, e)
	}
	checkEveryKind(t, entries)

	checkGolden(t, goldenPath, entries)
}

// TestGoldenCodes writes every protocol code with its name, for the SDK's
// code table test (web/test/codes.test.ts).
func TestGoldenCodes(t *testing.T) {
	type code struct {
		Code int    `json:"code"`
		Name string `json:"name"`
	}
	var codes []code
	for _, c := range netcode.Codes() {
		codes = append(codes, code{Code: int(c), Name: c.String()})
	}
	require.Greater(t, len(codes), 50)
	checkGolden(t, codesPath, codes)
}

// checkGolden compares v, as indented JSON, with the golden file at path,
// or rewrites the file with -update.
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))

	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		t.Logf("wrote %s", path)
		return
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test ./web -run Golden -update")
	require.Equal(t, buf.String(), string(have),
		"%s differs from what the Go side writes now: run go test ./web -run Golden -update and commit it", path)
}

// checkEveryKind reads the frame package's source: every type with a
// Kind() method has exactly one representative entry, and every Kind
// constant is covered, so that a new frame type fails here until it has
// one.
func checkEveryKind(t *testing.T, entries []goldenEntry) {
	t.Helper()
	types, kinds := frameSource(t)
	require.NotEmpty(t, types)
	var haveTypes []string
	haveKinds := map[int]bool{}
	for _, e := range entries {
		if e.Example == "" {
			haveTypes = append(haveTypes, e.Name)
		}
		haveKinds[e.Kind] = true
	}
	slices.Sort(types)
	slices.Sort(haveTypes)
	assert.Equal(t, types, haveTypes, "one golden entry per frame type of netcode/frame")
	declared := map[int]bool{}
	for name, k := range kinds {
		declared[k] = true
		assert.True(t, haveKinds[k], "%s (%d) has no golden entry", name, k)
	}
	for k := range haveKinds {
		assert.True(t, declared[k], "kind %d is not a Kind constant of netcode/frame", k)
	}
	assert.Len(t, kinds, len(types), "one Kind constant per frame type")
}

// frameSource returns the names of the types with a Kind() Kind method and
// the Kind* constants (name → value) declared in netcode/frame.
func frameSource(t *testing.T) (types []string, kinds map[string]int) {
	t.Helper()
	kinds = map[string]int{}
	dir, err := os.ReadDir(frameDir)
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, de := range dir {
		name := de.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(frameDir, name), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Kind" || d.Type.Params.NumFields() != 0 ||
					d.Type.Results.NumFields() != 1 || !isIdent(d.Type.Results.List[0].Type, "Kind") {
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				id, ok := recv.(*ast.Ident)
				require.True(t, ok, "receiver of %s.Kind", name)
				types = append(types, id.Name)
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					if !isIdent(vs.Type, "Kind") {
						continue
					}
					for i, n := range vs.Names {
						if !strings.HasPrefix(n.Name, "Kind") {
							continue // FirstServiceKind: a bound, not a frame
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						require.True(t, ok && lit.Kind == token.INT, "%s is not an integer literal", n.Name)
						v, err := strconv.Atoi(lit.Value)
						require.NoError(t, err, n.Name)
						kinds[n.Name] = v
					}
				}
			}
		}
	}
	return types, kinds
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
