package bench

// The udp-raw room relay: the physical floor of the room workload. It does
// what tickwire's relay room does to the network — take each member's
// input datagram, and once per tick send every member of the room one
// datagram holding that tick's inputs — and nothing else: no sessions,
// no KCP, no encryption, no engine. One goroutine owns all of it and
// reads and writes in batches (recvmmsg, sendmmsg), as netcode/kcp does.
//
// Its datagrams (big-endian; a generator sends kinds 1, 2 and 5, the
// relay kinds 3 and 4):
//
//	join    [1][room u32][member u16][zero padding to 16 bytes]
//	input   [2][room u32][member u16][seq u32][data, 0..MaxUDPRoomInput bytes]
//	joined  [3][room u32][member u16][code u16][tick_hz u8]         (10 bytes)
//	tick    [4][room u32][member u16][tick u64][server_time_us i64][count u16]
//	        then count × [member u16][seq u32][len u16][data]
//	leave   [5][room u32][member u16]                               (7 bytes)
//
// A join binds the slot (room, member) to the sender's address; the
// relay answers it with joined, code 0 or the netcode code of the
// refusal (a join is padded to be longer than its answer: no
// amplification). Members sharing one client socket share an address,
// so an input names its member and must come from the address bound to
// it; a tick names the member it is addressed to. A slot held by another
// address is taken over only once that address has been silent for
// UDPRoomConfig.IdleTimeout; a member silent that long is forgotten at
// the next tick, as is one that leaves (from its bound address: a run's
// generator leaves when it is done, so that the next run may take the
// same slots at once), and a room with no member left is freed. The tick
// payload is built once per room and sent to each member with the
// member's own 25-byte header in front (two buffers per datagram): the
// size of tickwire's RoomTick for the same inputs, within a few bytes
// (TestUDPRoomTickSizeMatchesRelay).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Datagram kinds of the udp-raw room relay.
const (
	udpRoomJoin   = 1
	udpRoomInput  = 2
	udpRoomJoined = 3
	udpRoomTick   = 4
	udpRoomLeave  = 5
)

// Sizes of the udp-raw room relay's datagrams.
const (
	udpRoomJoinSize    = 16 // a join, padded
	udpRoomLeaveSize   = 7  // kind, room, member
	udpRoomInputHeader = 11 // kind, room, member, seq
	udpRoomJoinedSize  = 10 // kind, room, member, code, tick_hz
	udpRoomTickHeader  = 25 // kind, room, member, tick, server time, count
	udpRoomTickEntry   = 8  // member, seq, len
	// MaxUDPRoomInput bounds one input's data, as frame.MaxRoomInput
	// bounds a RoomInput's.
	MaxUDPRoomInput = frame.MaxRoomInput
	// MaxUDPRoomTickBytes bounds one tick's payload (entries and data)
	// per room; inputs beyond it in the same tick are dropped and
	// counted, newest dropped, as room.Relay does.
	MaxUDPRoomTickBytes = 32 << 10
	// udpRoomReadBatch is the datagrams one recvmmsg takes.
	udpRoomReadBatch = 64
	// udpRoomMaxDatagram is the read buffer per datagram: one byte more
	// than the largest valid input, so that a larger one is seen.
	udpRoomMaxDatagram = udpRoomInputHeader + MaxUDPRoomInput + 1
)

// UDPRoomConfig configures the udp-raw room relay. The zero value means
// the defaults.
type UDPRoomConfig struct {
	// TickHz is the rate at which every room broadcasts (default 30,
	// at most frame.MaxRoomTickRate). A generator checks it at its joins.
	TickHz int
	// Rooms bounds the room ids (0 to Rooms-1; default 1024), Members
	// the member ids per room (0 to Members-1; default 64): together they
	// bound what strangers can make the relay hold and send.
	Rooms, Members int
	// IdleTimeout is how long a member may be silent before it is
	// forgotten and its slot may be taken by another address (default
	// 3 s).
	IdleTimeout time.Duration
	// Logger receives the relay's rare events (nil: discard).
	Logger *slog.Logger
}

// Defaults of UDPRoomConfig.
const (
	DefaultUDPRoomRooms   = 1024
	DefaultUDPRoomMembers = 64
	DefaultUDPRoomIdle    = 3 * time.Second
	maxUDPRoomRooms       = 1 << 16
	maxUDPRoomMembers     = 1 << 10
)

func (c UDPRoomConfig) withDefaults() UDPRoomConfig {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.TickHz, 30)
	def(&c.Rooms, DefaultUDPRoomRooms)
	def(&c.Members, DefaultUDPRoomMembers)
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultUDPRoomIdle
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c UDPRoomConfig) validate() error {
	if c.TickHz < 1 || c.TickHz > frame.MaxRoomTickRate || c.Rooms < 1 || c.Rooms > maxUDPRoomRooms ||
		c.Members < 1 || c.Members > maxUDPRoomMembers || c.IdleTimeout < 0 {
		return fmt.Errorf("%w: udp room relay: tick %d Hz, %d rooms × %d members (at most %d × %d), idle timeout %v",
			ErrConfig, c.TickHz, c.Rooms, c.Members, maxUDPRoomRooms, maxUDPRoomMembers, c.IdleTimeout)
	}
	return nil
}

// udpRoomMsg is a datagram a generator sends the relay, decoded.
type udpRoomMsg struct {
	kind   byte
	room   uint32
	member uint16
	seq    uint32
	data   []byte // an input's data, aliasing the datagram
}

// parseUDPRoomDatagram decodes a datagram sent to the relay. A refusal
// is a netcode.Code: bad_frame for a malformed one, input_too_large for
// an input above MaxUDPRoomInput, unknown_kind for any other kind.
func parseUDPRoomDatagram(b []byte) (udpRoomMsg, error) {
	var m udpRoomMsg
	if len(b) < 7 {
		return m, netcode.CodeBadFrame
	}
	m.kind = b[0]
	m.room = binary.BigEndian.Uint32(b[1:])
	m.member = binary.BigEndian.Uint16(b[5:])
	switch m.kind {
	case udpRoomJoin:
		if len(b) != udpRoomJoinSize {
			return m, netcode.CodeBadFrame
		}
	case udpRoomLeave:
		if len(b) != udpRoomLeaveSize {
			return m, netcode.CodeBadFrame
		}
	case udpRoomInput:
		if len(b) < udpRoomInputHeader {
			return m, netcode.CodeBadFrame
		}
		if len(b)-udpRoomInputHeader > MaxUDPRoomInput {
			return m, netcode.CodeInputTooLarge
		}
		m.seq = binary.BigEndian.Uint32(b[7:])
		m.data = b[udpRoomInputHeader:]
	default:
		return m, netcode.CodeUnknownKind
	}
	return m, nil
}

// putUDPRoomJoin writes a join datagram into b (udpRoomJoinSize bytes).
func putUDPRoomJoin(b []byte, room uint32, member uint16) {
	b[0] = udpRoomJoin
	binary.BigEndian.PutUint32(b[1:], room)
	binary.BigEndian.PutUint16(b[5:], member)
	clear(b[7:udpRoomJoinSize])
}

// putUDPRoomLeave writes a leave datagram into b (udpRoomLeaveSize
// bytes).
func putUDPRoomLeave(b []byte, room uint32, member uint16) {
	b[0] = udpRoomLeave
	binary.BigEndian.PutUint32(b[1:], room)
	binary.BigEndian.PutUint16(b[5:], member)
}

// putUDPRoomInputHeader writes an input datagram's header into b
// (udpRoomInputHeader bytes); the data follows it.
func putUDPRoomInputHeader(b []byte, room uint32, member uint16, seq uint32) {
	b[0] = udpRoomInput
	binary.BigEndian.PutUint32(b[1:], room)
	binary.BigEndian.PutUint16(b[5:], member)
	binary.BigEndian.PutUint32(b[7:], seq)
}

// UDPRoomStats are the relay's counters. Each refusal names the netcode
// code it stands for; only a refused join is answered (with that code),
// a refused input is dropped.
type UDPRoomStats struct {
	Joins         uint64 // slots bound (a rejoin from the same address is not counted)
	Inputs        uint64 // inputs taken into a tick
	Ticks         uint64 // ticks run
	LateTicks     uint64 // ticks skipped because the loop ran a whole tick late
	TickDatagrams uint64 // tick datagrams sent
	Expired       uint64 // members forgotten after IdleTimeout of silence
	Left          uint64 // members that left

	RefusedRoom   uint64 // room id ≥ Rooms (room_create_limit)
	RefusedMember uint64 // member id ≥ Members (room_full)
	RefusedTaken  uint64 // a join for a slot another live address holds (already_in_room)
	NotMember     uint64 // an input or a leave for a slot not bound to its sender (not_in_room)
	Malformed     uint64 // too short, wrong size or unknown kind (bad_frame, unknown_kind)
	TooLarge      uint64 // input data above MaxUDPRoomInput (input_too_large)
	TickFull      uint64 // inputs dropped: the tick already held MaxUDPRoomTickBytes

	ReadErrors, SendErrors uint64 // socket errors other than a closed socket
}

// Refused is the sum of every refusal and drop.
func (s UDPRoomStats) Refused() uint64 {
	return s.RefusedRoom + s.RefusedMember + s.RefusedTaken + s.NotMember + s.Malformed + s.TooLarge + s.TickFull
}

// udpRoomCounters are UDPRoomStats as the loop bumps them.
type udpRoomCounters struct {
	joins, inputs, ticks, lateTicks, tickDatagrams, expired, left            atomic.Uint64
	refusedRoom, refusedMember, refusedTaken, notMember, malformed, tooLarge atomic.Uint64
	tickFull, readErrors, sendErrors                                         atomic.Uint64
}

// udpRoomSlot is one member slot of a room.
type udpRoomSlot struct {
	addr  *net.UDPAddr   // nil: free
	ap    netip.AddrPort // addr, comparable
	last  time.Duration  // last heard, on the relay's clock
	hdr   [udpRoomTickHeader]byte
	bound bool
}

// udpRoomState is one room: its member slots and the tick being filled.
type udpRoomState struct {
	id      uint32
	slots   []udpRoomSlot
	live    int
	count   int    // inputs in payload
	payload []byte // this tick's entries
}

// UDPRoomServer is the udp-raw room relay's server (see the top of this
// file). One goroutine owns every room; Stats may be read from any.
type UDPRoomServer struct {
	cfg  UDPRoomConfig
	pc   *net.UDPConn
	bc   batchConn
	base time.Time
	c    udpRoomCounters
	wg   sync.WaitGroup
	once sync.Once

	// Owned by the loop goroutine:
	rooms  []*udpRoomState // by id, nil: no member
	active []uint32        // ids of the rooms with members, ticked in this order
	out    udpOutbox
	tick   uint64
	ticked bool // out holds a tick's broadcasts: the payloads are reset after the write
}

// StartUDPRoom listens on addr ("127.0.0.1:0" for a free port) and relays
// until Close.
func StartUDPRoom(addr string, cfg UDPRoomConfig) (*UDPRoomServer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	for _, set := range []func(int) error{pc.SetReadBuffer, pc.SetWriteBuffer} {
		if err := set(4 << 20); err != nil {
			_ = pc.Close() // the buffer error is the one worth reporting
			return nil, err
		}
	}
	s := &UDPRoomServer{cfg: cfg, pc: pc, bc: newBatchConn(pc), base: time.Now(), rooms: make([]*udpRoomState, cfg.Rooms)}
	s.out.bc = s.bc
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Addr is the address the relay listens on.
func (s *UDPRoomServer) Addr() string { return s.pc.LocalAddr().String() }

// Config is the relay's configuration, defaults filled in.
func (s *UDPRoomServer) Config() UDPRoomConfig { return s.cfg }

// Close stops the relay and waits for its loop. Idempotent.
func (s *UDPRoomServer) Close() error {
	var err error
	s.once.Do(func() {
		err = s.pc.Close()
		s.wg.Wait()
	})
	return err
}

// Stats reads the relay's counters.
func (s *UDPRoomServer) Stats() UDPRoomStats {
	c := &s.c
	return UDPRoomStats{
		Joins: c.joins.Load(), Inputs: c.inputs.Load(), Ticks: c.ticks.Load(), LateTicks: c.lateTicks.Load(),
		TickDatagrams: c.tickDatagrams.Load(), Expired: c.expired.Load(), Left: c.left.Load(),
		RefusedRoom: c.refusedRoom.Load(), RefusedMember: c.refusedMember.Load(), RefusedTaken: c.refusedTaken.Load(),
		NotMember: c.notMember.Load(), Malformed: c.malformed.Load(), TooLarge: c.tooLarge.Load(), TickFull: c.tickFull.Load(),
		ReadErrors: c.readErrors.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// run is the relay's loop: a batch read with the next tick as its
// deadline, the batch handled, joins answered, and at each tick every
// room's broadcast written in one batch. A tick that finds the loop a
// whole interval late is skipped and counted, never replayed.
func (s *UDPRoomServer) run() {
	defer s.wg.Done()
	msgs := make([]ipv4.Message, udpRoomReadBatch)
	bufs := make([]byte, udpRoomReadBatch*udpRoomMaxDatagram)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bufs[i*udpRoomMaxDatagram : (i+1)*udpRoomMaxDatagram : (i+1)*udpRoomMaxDatagram]}
	}
	interval := time.Second / time.Duration(s.cfg.TickHz)
	next := s.now() + interval
	if err := s.pc.SetReadDeadline(s.base.Add(next)); err != nil {
		return // closed before the loop started
	}
	for {
		n, err := s.bc.ReadBatch(msgs, 0)
		now := s.now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				s.c.readErrors.Add(1)
			}
			n = 0
		}
		for i := range msgs[:n] {
			m := &msgs[i]
			s.handle(m.Buffers[0][:m.N], m.Addr, now)
			m.Addr = nil
		}
		if now >= next {
			s.runTick(now)
			next += interval
			if now >= next {
				skipped := (now-next)/interval + 1
				s.c.lateTicks.Add(uint64(skipped))
				next += skipped * interval
			}
			if err := s.pc.SetReadDeadline(s.base.Add(next)); err != nil {
				return
			}
		}
		s.flush()
	}
}

func (s *UDPRoomServer) now() time.Duration { return time.Since(s.base) }

// handle takes one datagram.
func (s *UDPRoomServer) handle(b []byte, from net.Addr, now time.Duration) {
	m, err := parseUDPRoomDatagram(b)
	if err != nil {
		if errors.Is(err, netcode.CodeInputTooLarge) {
			s.c.tooLarge.Add(1)
		} else {
			s.c.malformed.Add(1)
		}
		return
	}
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		s.c.malformed.Add(1)
		return
	}
	ap := ua.AddrPort()
	code := netcode.CodeOK
	switch {
	case m.room >= uint32(s.cfg.Rooms):
		s.c.refusedRoom.Add(1)
		code = netcode.CodeRoomCreateLimit
	case int(m.member) >= s.cfg.Members:
		s.c.refusedMember.Add(1)
		code = netcode.CodeRoomFull
	}
	if m.kind == udpRoomJoin {
		if code == netcode.CodeOK {
			code = s.join(m, ua, ap, now)
		}
		s.reply(m, code, ua)
		return
	}
	if code != netcode.CodeOK {
		return
	}
	r := s.rooms[m.room]
	if r == nil || !r.slots[m.member].bound || r.slots[m.member].ap != ap {
		s.c.notMember.Add(1)
		return
	}
	if m.kind == udpRoomLeave {
		r.slots[m.member] = udpRoomSlot{}
		r.live-- // an empty room is freed at the next tick
		s.c.left.Add(1)
		return
	}
	r.slots[m.member].last = now
	if len(r.payload)+udpRoomTickEntry+len(m.data) > MaxUDPRoomTickBytes {
		s.c.tickFull.Add(1)
		return
	}
	r.payload = binary.BigEndian.AppendUint16(r.payload, m.member)
	r.payload = binary.BigEndian.AppendUint32(r.payload, m.seq)
	r.payload = binary.BigEndian.AppendUint16(r.payload, uint16(len(m.data)))
	r.payload = append(r.payload, m.data...)
	r.count++
	s.c.inputs.Add(1)
}

// join binds slot (m.room, m.member) to ap, or says why not.
func (s *UDPRoomServer) join(m udpRoomMsg, ua *net.UDPAddr, ap netip.AddrPort, now time.Duration) netcode.Code {
	r := s.rooms[m.room]
	if r == nil {
		r = &udpRoomState{id: m.room, slots: make([]udpRoomSlot, s.cfg.Members)}
		s.rooms[m.room] = r
		s.active = append(s.active, m.room)
	}
	sl := &r.slots[m.member]
	switch {
	case sl.bound && sl.ap == ap:
		sl.last = now // a repeated join: answered again
		return netcode.CodeOK
	case sl.bound && now-sl.last < s.cfg.IdleTimeout:
		s.c.refusedTaken.Add(1)
		return netcode.CodeAlreadyInRoom
	case !sl.bound:
		r.live++
	}
	*sl = udpRoomSlot{addr: ua, ap: ap, last: now, bound: true}
	sl.hdr[0] = udpRoomTick
	binary.BigEndian.PutUint32(sl.hdr[1:], m.room)
	binary.BigEndian.PutUint16(sl.hdr[5:], m.member)
	s.c.joins.Add(1)
	return netcode.CodeOK
}

// reply queues the answer to a join.
func (s *UDPRoomServer) reply(m udpRoomMsg, code netcode.Code, to *net.UDPAddr) {
	b := s.out.alloc(udpRoomJoinedSize)
	b[0] = udpRoomJoined
	binary.BigEndian.PutUint32(b[1:], m.room)
	binary.BigEndian.PutUint16(b[5:], m.member)
	binary.BigEndian.PutUint16(b[7:], uint16(code))
	b[9] = byte(s.cfg.TickHz)
	s.out.add(to, b)
}

// runTick forgets silent members, frees empty rooms, and queues every
// room's broadcast: one datagram per member, its header and the room's
// payload.
func (s *UDPRoomServer) runTick(now time.Duration) {
	s.tick++
	s.ticked = true
	s.c.ticks.Add(1)
	us := s.base.Add(now).UnixMicro()
	for k := 0; k < len(s.active); {
		r := s.rooms[s.active[k]]
		for i := range r.slots {
			if sl := &r.slots[i]; sl.bound && now-sl.last >= s.cfg.IdleTimeout {
				*sl = udpRoomSlot{}
				r.live--
				s.c.expired.Add(1)
			}
		}
		if r.live == 0 {
			s.rooms[r.id] = nil
			s.active[k] = s.active[len(s.active)-1]
			s.active = s.active[:len(s.active)-1]
			continue
		}
		k++
		for i := range r.slots {
			sl := &r.slots[i]
			if !sl.bound {
				continue
			}
			binary.BigEndian.PutUint64(sl.hdr[7:], s.tick)
			binary.BigEndian.PutUint64(sl.hdr[15:], uint64(us))
			binary.BigEndian.PutUint16(sl.hdr[23:], uint16(r.count))
			s.out.add(sl.addr, sl.hdr[:], r.payload)
			s.c.tickDatagrams.Add(1)
		}
	}
}

// flush writes what the pass queued and, after a tick, starts every
// room's next tick (the payloads were part of the write).
func (s *UDPRoomServer) flush() {
	if s.out.n > 0 {
		if errs := s.out.write(); errs > 0 {
			s.c.sendErrors.Add(uint64(errs))
		}
	}
	if !s.ticked {
		return
	}
	s.ticked = false
	for _, id := range s.active {
		r := s.rooms[id]
		r.payload, r.count = r.payload[:0], 0
	}
}

// batchConn reads and writes several datagrams per system call (recvmmsg
// and sendmmsg on Linux).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// newBatchConn is the batch view of c, by its address family.
func newBatchConn(c *net.UDPConn) batchConn {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// udpOutbox collects one pass's datagrams and writes them with sendmmsg.
// Owned by the loop that fills it.
type udpOutbox struct {
	bc    batchConn
	msgs  []ipv4.Message
	n     int
	arena []byte // join answers, reset by write
}

// alloc returns n bytes valid until the next write.
func (o *udpOutbox) alloc(n int) []byte {
	if len(o.arena)+n > cap(o.arena) {
		o.arena = make([]byte, 0, max(2*cap(o.arena), 1024, n)) // the old arena stays referenced by queued messages
	}
	o.arena = o.arena[:len(o.arena)+n]
	return o.arena[len(o.arena)-n:]
}

// add queues one datagram made of bufs (which must stay valid until
// write) to addr; addr nil on a connected socket.
func (o *udpOutbox) add(addr net.Addr, bufs ...[]byte) {
	if o.n == len(o.msgs) {
		o.msgs = append(o.msgs, ipv4.Message{Buffers: make([][]byte, 0, 2)})
	}
	m := &o.msgs[o.n]
	m.Buffers = append(m.Buffers[:0], bufs...)
	m.Addr = addr
	o.n++
}

// write sends every queued datagram and empties the outbox; it returns
// how many the kernel refused (each is skipped, as a lost datagram).
func (o *udpOutbox) write() (failed int) {
	msgs := o.msgs[:o.n]
	for len(msgs) > 0 {
		k, err := o.bc.WriteBatch(msgs, 0)
		if err != nil {
			failed++
			k = max(k, 1)
		}
		msgs = msgs[k:]
	}
	for i := range o.msgs[:o.n] {
		clear(o.msgs[i].Buffers)
		o.msgs[i].Buffers, o.msgs[i].Addr = o.msgs[i].Buffers[:0], nil
	}
	o.n = 0
	o.arena = o.arena[:0]
	return failed
}
