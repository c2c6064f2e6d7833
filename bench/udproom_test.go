package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

func startUDPRoom(t *testing.T, cfg UDPRoomConfig) *UDPRoomServer {
	t.Helper()
	s, err := StartUDPRoom("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// relayClient is one client socket that several members share.
type relayClient struct {
	t *testing.T
	c *net.UDPConn
}

func dialRelay(t *testing.T, s *UDPRoomServer) *relayClient {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp4", s.Addr())
	require.NoError(t, err)
	c, err := net.DialUDP("udp4", nil, ua)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &relayClient{t: t, c: c}
}

func (rc *relayClient) write(b []byte) {
	rc.t.Helper()
	_, err := rc.c.Write(b)
	require.NoError(rc.t, err)
}

func (rc *relayClient) sendJoin(room uint32, member uint16) {
	b := make([]byte, udpRoomJoinSize)
	putUDPRoomJoin(b, room, member)
	rc.write(b)
}

func (rc *relayClient) sendInput(room uint32, member uint16, seq uint32, data []byte) {
	b := make([]byte, udpRoomInputHeader+len(data))
	putUDPRoomInputHeader(b, room, member, seq)
	copy(b[udpRoomInputHeader:], data)
	rc.write(b)
}

// join joins (room, member) and returns the relay's answer code. The
// relay handles one socket's datagrams in order, so everything this
// socket sent before has been handled when the answer comes: tests use a
// join as a barrier.
func (rc *relayClient) join(room uint32, member uint16) netcode.Code {
	rc.t.Helper()
	rc.sendJoin(room, member)
	for {
		b := rc.read(5 * time.Second)
		if b[0] != udpRoomJoined {
			continue // a tick
		}
		require.Len(rc.t, b, udpRoomJoinedSize)
		if binary.BigEndian.Uint32(b[1:]) == room && binary.BigEndian.Uint16(b[5:]) == member {
			return netcode.Code(binary.BigEndian.Uint16(b[7:]))
		}
	}
}

func (rc *relayClient) read(d time.Duration) []byte {
	rc.t.Helper()
	require.NoError(rc.t, rc.c.SetReadDeadline(time.Now().Add(d)))
	buf := make([]byte, 64<<10)
	n, err := rc.c.Read(buf)
	require.NoError(rc.t, err)
	return buf[:n]
}

type tickInput struct {
	member uint16
	seq    uint32
	data   string
}

// The relay delivers each input to every member of its room — also to
// members that share one client socket, each in a datagram addressed to
// it — and never to another room.
func TestUDPRoomRelayDeliversToItsRoomOnly(t *testing.T) {
	s := startUDPRoom(t, UDPRoomConfig{TickHz: 50})
	a, b := dialRelay(t, s), dialRelay(t, s)
	// Socket a holds room 0's members 0 and 1 and room 1's member 0;
	// socket b room 0's member 2 and room 1's member 1.
	type slot struct {
		room   uint32
		member uint16
	}
	members := map[*relayClient][]slot{a: {{0, 0}, {0, 1}, {1, 0}}, b: {{0, 2}, {1, 1}}}
	for c, ss := range members {
		for _, sl := range ss {
			require.Equal(t, netcode.CodeOK, c.join(sl.room, sl.member))
		}
	}
	a.sendInput(0, 0, 1, []byte("from-room-0"))
	b.sendInput(1, 1, 7, []byte("from-room-1"))
	want := map[uint32]tickInput{0: {0, 1, "from-room-0"}, 1: {1, 7, "from-room-1"}}

	for c, ss := range members {
		got := map[slot][]tickInput{}
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < len(ss) {
			require.True(t, time.Now().Before(deadline), "ticks with the inputs, so far %v", got)
			d := c.read(time.Until(deadline))
			if d[0] != udpRoomTick {
				continue
			}
			var ins []tickInput
			h, err := forUDPRoomTickInputs(d, func(m uint16, seq uint32, data []byte) {
				ins = append(ins, tickInput{m, seq, string(data)})
			})
			require.NoError(t, err)
			sl := slot{h.room, h.member}
			require.Contains(t, ss, sl, "a tick for a member of this socket only")
			if len(ins) > 0 {
				require.Equal(t, []tickInput{want[h.room]}, ins, "room %d's tick holds its own input only", h.room)
				got[sl] = ins
			}
		}
	}
	st := s.Stats()
	assert.EqualValues(t, 5, st.Joins)
	assert.EqualValues(t, 2, st.Inputs)
	assert.Zero(t, st.Refused())
}

// Ids beyond the configured rooms × members, slots held by another live
// address, inputs from non-members, malformed and oversized datagrams
// and a full tick are refused, each with its code and counter.
func TestUDPRoomRelayRefusesAndCounts(t *testing.T) {
	s := startUDPRoom(t, UDPRoomConfig{TickHz: 1, Rooms: 2, Members: 3, IdleTimeout: time.Minute})
	a, b := dialRelay(t, s), dialRelay(t, s)

	require.Equal(t, netcode.CodeRoomCreateLimit, a.join(2, 0), "room id beyond Rooms")
	require.Equal(t, netcode.CodeRoomFull, a.join(0, 3), "member id beyond Members")
	require.Equal(t, netcode.CodeOK, a.join(0, 0))
	require.Equal(t, netcode.CodeOK, a.join(0, 0), "a repeated join from the holder is answered again")
	require.Equal(t, netcode.CodeAlreadyInRoom, b.join(0, 0), "the slot is held by a live address")

	b.sendInput(0, 0, 1, []byte("not yours"))   // not the slot's address
	b.sendInput(1, 2, 1, []byte("no join"))     // never joined
	b.sendInput(5, 0, 1, []byte("room beyond")) // beyond Rooms
	b.write([]byte{udpRoomInput, 0, 0})         // short
	b.write(make([]byte, udpRoomJoinSize-1))    // kind 0
	shortJoin := make([]byte, udpRoomJoinSize)
	putUDPRoomJoin(shortJoin, 1, 0)
	b.write(shortJoin[:udpRoomJoinSize-1]) // a join one byte short: no answer
	big := make([]byte, udpRoomInputHeader+MaxUDPRoomInput+1)
	putUDPRoomInputHeader(big, 0, 0, 1)
	b.write(big)
	require.Equal(t, netcode.CodeOK, b.join(1, 1)) // barrier: everything above was handled

	// 20 inputs of MaxUDPRoomInput bytes back to back: at most 7 fit in
	// one tick's MaxUDPRoomTickBytes, and a 1 Hz tick splits them at most
	// once.
	for i := range 20 {
		a.sendInput(0, 0, uint32(i+1), make([]byte, MaxUDPRoomInput))
	}
	require.Equal(t, netcode.CodeOK, a.join(0, 0)) // barrier

	st := s.Stats()
	assert.EqualValues(t, 2, st.RefusedRoom, "a join and an input beyond Rooms")
	assert.EqualValues(t, 1, st.RefusedMember)
	assert.EqualValues(t, 1, st.RefusedTaken)
	assert.EqualValues(t, 2, st.NotMember, "an input from another address, one without a join")
	assert.EqualValues(t, 3, st.Malformed, "short, unknown kind, a join of the wrong size")
	assert.EqualValues(t, 1, st.TooLarge)
	assert.GreaterOrEqual(t, st.TickFull, uint64(6))
	assert.EqualValues(t, 20, st.Inputs+st.TickFull)
	assert.EqualValues(t, 2, st.Joins)
	assert.Equal(t, st.RefusedRoom+st.RefusedMember+st.RefusedTaken+st.NotMember+st.Malformed+st.TooLarge+st.TickFull, st.Refused())
}

// A member silent for IdleTimeout is forgotten, and one that leaves at
// once: its slot may then be taken from another address.
func TestUDPRoomRelayIdleSlotTakenOver(t *testing.T) {
	s := startUDPRoom(t, UDPRoomConfig{TickHz: 100, IdleTimeout: time.Second})
	a, b := dialRelay(t, s), dialRelay(t, s)
	require.Equal(t, netcode.CodeOK, a.join(3, 1))
	require.Equal(t, netcode.CodeAlreadyInRoom, b.join(3, 1))
	require.Eventually(t, func() bool { return s.Stats().Expired == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, netcode.CodeOK, b.join(3, 1))
	assert.EqualValues(t, 2, s.Stats().Joins)

	// A leave frees the slot at once, from the holder only.
	leave := make([]byte, udpRoomLeaveSize)
	putUDPRoomLeave(leave, 3, 1)
	a.write(leave) // not the holder: refused
	require.Equal(t, netcode.CodeAlreadyInRoom, a.join(3, 1))
	b.write(leave)
	require.Equal(t, netcode.CodeOK, b.join(0, 0)) // barrier
	require.Equal(t, netcode.CodeOK, a.join(3, 1))
	st := s.Stats()
	assert.EqualValues(t, 1, st.Left)
	assert.EqualValues(t, 1, st.NotMember)
}

func TestUDPRoomConfigValidation(t *testing.T) {
	for name, c := range map[string]UDPRoomConfig{
		"tick rate":    {TickHz: frame.MaxRoomTickRate + 1},
		"rooms":        {Rooms: maxUDPRoomRooms + 1},
		"members":      {Members: maxUDPRoomMembers + 1},
		"negative":     {Rooms: -1},
		"idle timeout": {IdleTimeout: -time.Second},
	} {
		_, err := StartUDPRoom("127.0.0.1:0", c)
		require.ErrorIs(t, err, ErrConfig, name)
	}
}

// The relay's tick datagram is the size of tickwire's RoomTick for the
// same inputs, within a few bytes: the floor sends what tickwire sends.
func TestUDPRoomTickSizeMatchesRelay(t *testing.T) {
	const members, size = 8, 64
	tick := frame.RoomTick{RoomID: 1 << 40, Tick: 90_000, ServerTimeUs: time.Now().UnixMicro()}
	for m := range members {
		tick.Inputs = append(tick.Inputs, frame.TickInput{Member: uint32(1000 + m), Seq: 300_000, Data: make([]byte, size)})
	}
	b, err := frame.Marshal(&tick)
	require.NoError(t, err)
	raw := udpRoomTickHeader + members*(udpRoomTickEntry+size)
	assert.InEpsilon(t, len(b), raw, 0.05, "RoomTick %d bytes, udp-raw tick %d", len(b), raw)
}

// Handling an input allocates nothing.
func TestUDPRoomHandleAllocs(t *testing.T) {
	s := startUDPRoom(t, UDPRoomConfig{TickHz: 1})
	c := dialRelay(t, s)
	require.NoError(t, s.Close()) // the test drives handle itself, on this goroutine
	from := c.c.LocalAddr()
	join := make([]byte, udpRoomJoinSize)
	putUDPRoomJoin(join, 0, 0)
	s.handle(join, from, 0)
	in := make([]byte, udpRoomInputHeader+64)
	putUDPRoomInputHeader(in, 0, 0, 1)
	allocs := testing.AllocsPerRun(100, func() {
		s.handle(in, from, time.Millisecond)
		s.rooms[0].payload = s.rooms[0].payload[:0]
	})
	assert.Zero(t, allocs)
	assert.EqualValues(t, 101, s.Stats().Inputs)
}

// A room run over udp-raw against the in-process relay: every input
// reaches every member (a room's members straddle two client sockets
// here), the row carries the server's CPU per input, and the kcp row
// beside it gets its ratios to udp-raw and its CPU in the floor's note.
func TestRoomUDPRawRow(t *testing.T) {
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := RunRoom(ctx, &Env{Target: l.Target()}, RoomConfig{
		Transports: []string{TransportUDPRaw, TransportKCP}, Rooms: 2, Clients: 3, TickHz: 30, InputHz: 20,
		SessionsPerSocket: 4, Warmup: 200 * time.Millisecond, Duration: time.Second,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	raw, kcp := rep.Results[0], rep.Results[1]
	checkShape(t, raw)
	require.Equal(t, TransportUDPRaw, raw.Name)
	require.Equal(t, crossesOf(TransportUDPRaw), raw.Crosses)
	require.Positive(t, raw.Sent)
	require.Equal(t, raw.Sent, raw.Received, "loopback delivers every input to every member")
	assert.EqualValues(t, 2, raw.Extra["client_sockets"], "6 players, 4 per socket")
	assert.Positive(t, raw.Extra["join_p50_us"])
	assert.Positive(t, raw.Extra["server_cpu_us_per_input"])
	assert.InDelta(t, 1, raw.Extra["server_datagrams_in_per_input"], 0.001, "one datagram per input")
	assert.Positive(t, raw.Extra["server_datagrams_out_per_input"])
	assert.Zero(t, raw.Extra["bad_ticks"])
	assert.InDelta(t, 1, raw.P50VsUDP, 1e-9)
	assert.Positive(t, kcp.P50VsUDP, "ratios to udp-raw, as echo has them")
	assert.Positive(t, kcp.Extra["server_cpu_us_per_input"])

	var note string
	for _, n := range rep.Notes {
		if strings.HasPrefix(n, "server CPU per input: raw-UDP floor") {
			note = n
		}
	}
	require.NotEmpty(t, note, "notes: %q", rep.Notes)
	assert.Contains(t, note, "; kcp ")

	var js bytes.Buffer
	require.NoError(t, rep.WriteJSON(&js))
	assert.Contains(t, js.String(), `"name": "udp-raw"`)
	assert.Contains(t, js.String(), `"server_cpu_us_per_input"`)
	html := t.TempDir() + "/room.html"
	require.NoError(t, WriteHTMLFile(html, "room", []*Report{rep}))
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), "udp-raw")
	assert.Contains(t, string(page), "raw-UDP floor")
	st := l.UDPRoom().Stats()
	assert.EqualValues(t, 6, st.Joins)
	assert.Zero(t, st.Refused())
}

// A run whose rooms the relay's bounds refuse fails with the refusal's
// code; a relay ticking at another rate than the run's is a config error
// that says how to start it.
func TestRoomUDPRawRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	small := startUDPRoom(t, UDPRoomConfig{Rooms: 1})
	_, err := RunRoom(ctx, &Env{Target: Target{UDPRoom: small.Addr()}}, RoomConfig{
		Transports: []string{TransportUDPRaw}, Rooms: 2, Clients: 2, Warmup: 10 * time.Millisecond, Duration: 100 * time.Millisecond,
	})
	require.ErrorIs(t, err, netcode.CodeRoomCreateLimit)
	var ce *netcode.CodedError
	require.True(t, errors.As(err, &ce))

	slow := startUDPRoom(t, UDPRoomConfig{TickHz: 20})
	_, err = RunRoom(ctx, &Env{Target: Target{UDPRoom: slow.Addr()}}, RoomConfig{
		Transports: []string{TransportUDPRaw}, Rooms: 1, Clients: 2, TickHz: 30, Warmup: 10 * time.Millisecond, Duration: 100 * time.Millisecond,
	})
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorContains(t, err, "--udp-room-tick-hz 30")

	_, err = RunRoom(ctx, &Env{}, RoomConfig{Transports: []string{TransportUDPRaw}})
	require.ErrorIs(t, err, ErrNoAddress)

	_, err = RunRoom(ctx, &Env{Nodes: []Target{{UDPRoom: slow.Addr()}, {UDPRoom: slow.Addr()}}}, RoomConfig{Transports: []string{TransportUDPRaw}})
	require.ErrorIs(t, err, ErrConfig, "the relay is one server, not a cluster")
}

// A udp-raw room run through the impair proxy: joins lost on the way are
// sent again, the delay shows in every latency, and loss each way shows
// in the delivery.
func TestRoomUDPRawImpaired(t *testing.T) {
	relay := startUDPRoom(t, UDPRoomConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := RunRoom(ctx, &Env{Target: Target{UDPRoom: relay.Addr()}}, RoomConfig{
		Transports: []string{TransportUDPRaw}, Rooms: 2, Clients: 4, InputHz: 20, SessionsPerSocket: 3,
		Warmup: 200 * time.Millisecond, Duration: time.Second,
		Impairment: Impairment{LossPct: 20, Delay: time.Millisecond}, Seed: 5,
	})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	checkShape(t, r)
	assert.Equal(t, "loss 20% delay 1ms", r.Impairment)
	assert.GreaterOrEqual(t, r.P50Us, 2000.0, "the proxy adds 1 ms each way")
	assert.Less(t, r.DeliveredPct, 100.0, "20 % loss each way loses inputs and ticks")
	assert.Equal(t, "impair proxy (whole run)", r.WireSource)
	assert.EqualValues(t, 8, relay.Stats().Joins, "every player joined, lost joins sent again")
}

// The relay's decoder takes any bytes without panicking: what it accepts
// is a join of exactly its size or an input within MaxUDPRoomInput, and
// an input re-encodes to the same bytes. The generator's tick decoder
// likewise.
func FuzzUDPRoomDatagram(f *testing.F) {
	join := make([]byte, udpRoomJoinSize)
	putUDPRoomJoin(join, 3, 2)
	in := make([]byte, udpRoomInputHeader+roomHeader)
	putUDPRoomInputHeader(in, 1, 7, 42)
	f.Add(join)
	f.Add(in)
	f.Add([]byte{udpRoomTick})
	big := make([]byte, udpRoomInputHeader+MaxUDPRoomInput+1)
	putUDPRoomInputHeader(big, 0, 0, 1)
	f.Add(big)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2*udpRoomMaxDatagram {
			return // the relay never reads more than udpRoomMaxDatagram
		}
		m, err := parseUDPRoomDatagram(b)
		if err != nil {
			var c netcode.Code
			require.True(t, errors.As(err, &c), "a coded refusal: %v", err)
			return
		}
		switch m.kind {
		case udpRoomJoin:
			require.Len(t, b, udpRoomJoinSize)
		case udpRoomLeave:
			require.Len(t, b, udpRoomLeaveSize)
		case udpRoomInput:
			require.LessOrEqual(t, len(m.data), MaxUDPRoomInput)
			out := make([]byte, udpRoomInputHeader+len(m.data))
			putUDPRoomInputHeader(out, m.room, m.member, m.seq)
			copy(out[udpRoomInputHeader:], m.data)
			require.Equal(t, b, out)
		default:
			t.Fatalf("accepted kind %d", m.kind)
		}
	})
}

func FuzzUDPRoomTick(f *testing.F) {
	b := make([]byte, udpRoomTickHeader, 256)
	b[0] = udpRoomTick
	binary.BigEndian.PutUint16(b[23:], 2)
	for _, d := range [][]byte{make([]byte, roomHeader), []byte("x")} {
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, 9)
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		h, err := forUDPRoomTickInputs(b, func(_ uint16, _ uint32, d []byte) { total += udpRoomTickEntry + len(d) })
		if err != nil {
			return
		}
		require.Equal(t, len(b), udpRoomTickHeader+total, "an accepted tick is its entries exactly")
		require.LessOrEqual(t, h.count, (len(b)-udpRoomTickHeader)/udpRoomTickEntry)
	})
}
