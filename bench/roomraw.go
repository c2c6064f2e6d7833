package bench

// The room run over udp-raw: the same rooms × clients × input rate as the
// tickwire rows, against the udp-raw room relay (udproom.go), so that
// the server's CPU per input of tickwire stands beside the physical
// floor of the same workload, measured in the same run. The players
// share client sockets SessionsPerSocket at a time, as the KCP fleet's
// do (consecutive players: a room's members together); each socket has
// one reader goroutine that reads in batches (recvmmsg), and the senders
// write a slot's inputs per socket in one batch (sendmmsg). Latency is
// taken as on the other rows: the input carries its send time on the
// generator's clock, and every member that receives the tick holding it
// records the difference.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/tickwire/tickwire/netcode"
)

// rawReadBatch is the datagrams one generator recvmmsg takes.
const rawReadBatch = 32

// rawJoinRetry is the wait before joins without an answer are sent again.
const rawJoinRetry = 200 * time.Millisecond

// rawPlayer is one simulated member of a udp-raw room run.
type rawPlayer struct {
	room   uint32
	member uint16
	sock   *rawSocket

	joinSent atomic.Int64  // when the last join left, on the run's clock
	joined   atomic.Bool   // the relay answered code 0
	refusal  atomic.Uint32 // the code of a refused join, 0 if none

	seq  uint32       // the sender's only
	sent atomic.Int64 // measured inputs sent
}

// rawRoomRun is a udp-raw room run's generator.
type rawRoomRun struct {
	cfg     RoomConfig
	clock   *roomClock
	players []rawPlayer
	socks   []*rawSocket
	wg      sync.WaitGroup // the sockets' readers
	tickHz  atomic.Uint32  // the relay's, from its join answers
	left    bool           // leave was sent
}

// rawSocket is a client socket that perSocket players share.
type rawSocket struct {
	run *rawRoomRun
	c   *net.UDPConn
	bc  batchConn

	// Owned by the reader until it ends:
	hist, joinHist *Histogram
	cache          map[uint32]*rawTickCache // by room

	delivered, ticks, bad atomic.Int64  // measured inputs received in ticks, ticks in the window, bad datagrams
	dgOut, dgIn           atomic.Int64  // datagrams sent and received in the measured window
	bytesOut, bytesIn     atomic.Uint64 // whole run
	sendErrs              atomic.Int64
}

// rawTickCache is the send times of the last tick of one room a socket
// decoded: the relay sends every member of a room the same inputs, so
// the other members on the socket reuse them.
type rawTickCache struct {
	tick  uint64
	sends []time.Duration
}

// runRoomRaw runs the room scenario over udp-raw.
func runRoomRaw(ctx context.Context, env *Env, cfg RoomConfig, t string) (Result, *ProcUsage, error) {
	res := newResult(t, t, cfg.Impairment)
	addr := env.Target.UDPRoom
	if addr == "" {
		return res, nil, fmt.Errorf("%w %s rooms (the udp-raw room relay: tickbench serve --udp-room-port)", ErrNoAddress, t)
	}
	tr, err := lookup(t)
	if err != nil {
		return res, nil, err
	}
	rt := route{addr: addr}
	if !cfg.Impairment.None() {
		if rt.px, err = startProxy(ctx, env, tr.proxy, addr, cfg.Impairment, cfg.Seed); err != nil {
			return res, nil, fmt.Errorf("starting impairment proxy: %w", err)
		}
		rt.addr = rt.px.Addr()
	}
	defer rt.close()
	n := cfg.Rooms * cfg.Clients
	r := &rawRoomRun{cfg: cfg, clock: &roomClock{base: time.Now()}, players: make([]rawPlayer, n)}
	defer r.close()
	if err := r.open(rt.addr, cfg.SessionsPerSocket); err != nil {
		return res, nil, err
	}
	defer r.leave() // before close: free the relay's slots on every path

	// Phase 1: every player joins its slot.
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	bar := env.bar(fmt.Sprintf("room %s: join", t), int64(n))
	err = r.join(setupCtx, bar)
	bar.Stop()
	if err != nil {
		return res, nil, fmt.Errorf("joining the udp-raw room relay at %s: %w", addr, err)
	}
	if hz := int(r.tickHz.Load()); hz != cfg.TickHz {
		return res, nil, fmt.Errorf("%w: the udp-raw room relay at %s ticks at %d Hz and the run asks for %d Hz: start it with tickbench serve --udp-room-tick-hz %d",
			ErrConfig, addr, hz, cfg.TickHz, cfg.TickHz)
	}

	// Phase 2: send inputs; measure after the warm-up.
	sampler := newUsageSampler(env.Target)
	measureFrom := r.clock.now() + cfg.Warmup
	measureTo := measureFrom + cfg.Duration
	r.clock.setWindow(measureFrom, measureTo)
	bar = env.bar(fmt.Sprintf("room %s: run", t), int64((cfg.Warmup+cfg.Duration)/time.Millisecond))
	prof := newProfiler(profilePath(cfg.CPUProfile, t, len(cfg.Transports)))
	sst, sendErr := runSchedule(ctx, r.clock, n, senderConfig{
		size: cfg.Size, inputHz: cfg.InputHz, measureFrom: measureFrom, measureTo: measureTo,
		tick: windowTick(measureFrom, sampler, prof, bar),
	}, func() slotWorker { return r.newSender() })
	sampler.stop()
	if err := prof.stop(); err != nil {
		return res, nil, err
	}
	bar.Stop()
	if sendErr != nil {
		return res, nil, sendErr // the raw sender fails only on a bug: a refused datagram is counted, not fatal
	}

	var expected, inputs int64
	perRoom := make([]int64, cfg.Rooms)
	for i := range r.players {
		s := r.players[i].sent.Load()
		perRoom[i/cfg.Clients] += s
		inputs += s
	}
	for _, s := range perRoom {
		expected += s * int64(cfg.Clients)
	}
	tickInterval := time.Second / time.Duration(cfg.TickHz)
	drain := 2*tickInterval + 2*(cfg.Impairment.Delay+cfg.Impairment.Jitter) + time.Second
	got := func() (d int64) {
		for _, s := range r.socks {
			d += s.delivered.Load()
		}
		return d
	}
	last, lastChange := got(), time.Now()
	waitUntil(ctx, drainMax, func() bool {
		g := got()
		if g != last {
			last, lastChange = g, time.Now()
		}
		return g >= expected || time.Since(lastChange) > drain
	})
	received := got()
	r.leave()
	r.close() // the readers end: their histograms may be read

	tl := roomTally{cfg: cfg, hist: NewHistogram(), joinHist: NewHistogram(), expected: expected, received: received,
		inputs: inputs, offeredLive: inputs, live: int64(n), sockets: len(r.socks), sst: sst,
		u: sampler.result(), g: sampler.generator()}
	var dgIn, dgOut, sendErrs int64
	var wire uint64
	for _, s := range r.socks {
		tl.hist.Merge(s.hist)
		tl.joinHist.Merge(s.joinHist)
		tl.ticks += s.ticks.Load()
		tl.bad += s.bad.Load()
		dgIn += s.dgIn.Load()
		dgOut += s.dgOut.Load()
		sendErrs += s.sendErrs.Load()
		wire += s.bytesIn.Load() + s.bytesOut.Load()
	}
	tl.wire, tl.wireSrc = wire, "client sockets (whole run)"
	if rt.px != nil {
		tl.wire, tl.wireSrc = rt.px.WireBytes(), "impair proxy (whole run)"
	}
	tl.fill(&res)
	if inputs > 0 {
		// The relay's datagrams per input, counted at the generator: in =
		// what the generator sent it, out = what it received from it.
		res.SetExtra("server_datagrams_in_per_input", float64(dgOut)/float64(inputs))
		res.SetExtra("server_datagrams_out_per_input", float64(dgIn)/float64(inputs))
	}
	if sendErrs > 0 {
		res.SetExtra("send_errors", float64(sendErrs))
	}
	return res, tl.u, nil
}

// open opens the client sockets, perSocket players each, and starts
// their readers.
func (r *rawRoomRun) open(addr string, perSocket int) error {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	cfg := r.cfg
	// A tick holds at most every member's inputs of one tick interval.
	perTick := (cfg.InputHz+cfg.TickHz-1)/cfg.TickHz + 1
	bufSize := min(udpRoomTickHeader+cfg.Clients*perTick*(udpRoomTickEntry+cfg.Size), udpRoomTickHeader+MaxUDPRoomTickBytes) + 1
	for i := range r.players {
		p := &r.players[i]
		p.room, p.member = uint32(i/cfg.Clients), uint16(i%cfg.Clients)
		g := i / perSocket
		if g == len(r.socks) {
			c, err := net.DialUDP("udp", nil, ua)
			if err != nil {
				return err
			}
			for _, set := range []func(int) error{c.SetReadBuffer, c.SetWriteBuffer} {
				if err := set(4 << 20); err != nil {
					_ = c.Close() // the buffer error is the one worth reporting
					return err
				}
			}
			s := &rawSocket{run: r, c: c, bc: newBatchConn(c), hist: NewHistogram(), joinHist: NewHistogram(),
				cache: map[uint32]*rawTickCache{}}
			r.socks = append(r.socks, s)
			r.wg.Go(func() { s.read(bufSize) })
		}
		p.sock = r.socks[g]
	}
	return nil
}

// leave tells the relay that every player is gone (best effort: a lost
// leave is forgotten after the relay's idle timeout). Idempotent.
func (r *rawRoomRun) leave() {
	if r.left {
		return
	}
	r.left = true
	var out udpOutbox
	var cur *rawSocket
	for i := range r.players {
		p := &r.players[i]
		if p.sock != cur && cur != nil {
			out.bc = cur.bc
			out.write()
		}
		cur = p.sock
		b := out.alloc(udpRoomLeaveSize)
		putUDPRoomLeave(b, p.room, p.member)
		out.add(nil, b)
	}
	if cur != nil {
		out.bc = cur.bc
		out.write()
	}
}

// close closes the sockets and waits for their readers. Idempotent.
func (r *rawRoomRun) close() {
	for _, s := range r.socks {
		_ = s.c.Close() // a second close says nothing
	}
	r.wg.Wait()
}

// join sends every player's join, and again every rawJoinRetry to those
// without an answer, until all are in, one is refused (a
// *netcode.CodedError), or ctx ends.
func (r *rawRoomRun) join(ctx context.Context, bar *Progress) error {
	var out udpOutbox
	var pending []int
	reported := 0
	for {
		pending = pending[:0]
		in := 0
		for i := range r.players {
			p := &r.players[i]
			if c := netcode.Code(p.refusal.Load()); c != 0 {
				hint := "tickbench serve --udp-room-rooms/--udp-room-members set the relay's bounds"
				if c == netcode.CodeAlreadyInRoom {
					hint = fmt.Sprintf("another generator holds the slot; the relay forgets a member after %v of silence", DefaultUDPRoomIdle)
				}
				return &netcode.CodedError{Code: c, Msg: fmt.Sprintf("room %d member %d (%s)", p.room, p.member, hint)}
			}
			if p.joined.Load() {
				in++
			} else {
				pending = append(pending, i)
			}
		}
		bar.Add(int64(in - reported))
		reported = in
		if len(pending) == 0 {
			return nil
		}
		var cur *rawSocket
		flush := func() {
			if cur != nil {
				out.bc = cur.bc
				out.write() // a join lost here is sent again
				cur = nil
			}
		}
		for _, i := range pending {
			p := &r.players[i]
			if p.sock != cur {
				flush()
				cur = p.sock
			}
			p.joinSent.Store(int64(r.clock.now()))
			b := out.alloc(udpRoomJoinSize)
			putUDPRoomJoin(b, p.room, p.member)
			out.add(nil, b)
			cur.bytesOut.Add(uint64(len(b)))
		}
		flush()
		waitUntil(ctx, rawJoinRetry, func() bool {
			for _, i := range pending {
				if p := &r.players[i]; !p.joined.Load() && p.refusal.Load() == 0 {
					return false
				}
			}
			return true
		})
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%d of %d players without an answer: %w", len(pending), len(r.players), err)
		}
	}
}

// rawSender is one runSchedule worker of a udp-raw run: it writes a
// slot's inputs, socket by socket, one sendmmsg each.
type rawSender struct {
	r       *rawRoomRun
	out     udpOutbox
	pending *rawSocket
	n       int64 // datagrams queued for pending, in the measured window
}

func (r *rawRoomRun) newSender() *rawSender { return &rawSender{r: r} }

func (w *rawSender) send(i int) error {
	p := &w.r.players[i]
	if p.sock != w.pending {
		w.flush()
		w.pending = p.sock
	}
	now := w.r.clock.now()
	measured := w.r.clock.measured(now)
	b := w.out.alloc(udpRoomInputHeader + w.r.cfg.Size)
	putUDPRoomInputHeader(b, p.room, p.member, p.seq+1)
	d := b[udpRoomInputHeader:]
	clear(d)
	binary.BigEndian.PutUint64(d, uint64(now))
	binary.BigEndian.PutUint32(d[8:], uint32(i))
	if measured {
		d[12] = 1
	}
	w.out.add(nil, b)
	p.seq++
	p.sock.bytesOut.Add(uint64(len(b)))
	if measured {
		p.sent.Add(1)
		w.n++
	}
	return nil
}

func (w *rawSender) flush() {
	if w.pending == nil {
		return
	}
	w.out.bc = w.pending.bc
	if failed := w.out.write(); failed > 0 {
		w.pending.sendErrs.Add(int64(failed))
	}
	w.pending.dgOut.Add(w.n)
	w.pending, w.n = nil, 0
}

// read is the socket's reader: join answers and ticks, in batches.
func (s *rawSocket) read(bufSize int) {
	msgs := make([]ipv4.Message, rawReadBatch)
	bufs := make([]byte, rawReadBatch*bufSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bufs[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]}
	}
	for {
		n, err := s.bc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors from a relay not (yet) there
		}
		now := s.run.clock.now()
		for i := range msgs[:n] {
			m := &msgs[i]
			s.bytesIn.Add(uint64(m.N))
			if m.N == bufSize || m.Flags&syscall.MSG_TRUNC != 0 {
				s.bad.Add(1) // larger than any tick of this run
				continue
			}
			s.handle(m.Buffers[0][:m.N], now)
		}
	}
}

// handle takes one datagram from the relay.
func (s *rawSocket) handle(b []byte, now time.Duration) {
	r := s.run
	if len(b) == 0 {
		s.bad.Add(1)
		return
	}
	switch b[0] {
	case udpRoomJoined:
		if len(b) != udpRoomJoinedSize {
			s.bad.Add(1)
			return
		}
		p := r.player(binary.BigEndian.Uint32(b[1:]), binary.BigEndian.Uint16(b[5:]))
		if p == nil || p.sock != s {
			s.bad.Add(1)
			return
		}
		if code := binary.BigEndian.Uint16(b[7:]); code != 0 {
			p.refusal.Store(uint32(code))
			return
		}
		r.tickHz.Store(uint32(b[9]))
		if !p.joined.Swap(true) {
			s.joinHist.Record(now - time.Duration(p.joinSent.Load()))
		}
	case udpRoomTick:
		h, err := parseUDPRoomTickHeader(b)
		if err != nil {
			s.bad.Add(1)
			return
		}
		if p := r.player(h.room, h.member); p == nil || p.sock != s {
			s.bad.Add(1)
			return
		}
		measured := r.clock.measured(now)
		if measured {
			s.ticks.Add(1)
			s.dgIn.Add(1)
		}
		c := s.cache[h.room]
		if c == nil {
			c = &rawTickCache{}
			s.cache[h.room] = c
		}
		if c.sends == nil || c.tick != h.tick {
			c.tick = h.tick
			if c.sends, err = appendUDPRoomSendTimes(c.sends[:0], b); err != nil {
				c.sends = nil
				s.bad.Add(1)
				return
			}
		}
		for _, t := range c.sends {
			s.hist.Record(now - t)
		}
		s.delivered.Add(int64(len(c.sends)))
	default:
		s.bad.Add(1)
	}
}

// player is the player in slot (room, member), nil when the run has none.
func (r *rawRoomRun) player(room uint32, member uint16) *rawPlayer {
	if room >= uint32(r.cfg.Rooms) || int(member) >= r.cfg.Clients {
		return nil
	}
	return &r.players[int(room)*r.cfg.Clients+int(member)]
}

// udpRoomTickHdr is a tick datagram's header, decoded.
type udpRoomTickHdr struct {
	room   uint32
	member uint16
	tick   uint64
	timeUs int64
	count  int
}

// parseUDPRoomTickHeader decodes a tick datagram's header.
func parseUDPRoomTickHeader(b []byte) (udpRoomTickHdr, error) {
	var h udpRoomTickHdr
	if len(b) < udpRoomTickHeader || b[0] != udpRoomTick {
		return h, netcode.CodeBadFrame
	}
	h.room = binary.BigEndian.Uint32(b[1:])
	h.member = binary.BigEndian.Uint16(b[5:])
	h.tick = binary.BigEndian.Uint64(b[7:])
	h.timeUs = int64(binary.BigEndian.Uint64(b[15:]))
	h.count = int(binary.BigEndian.Uint16(b[23:]))
	return h, nil
}

// forUDPRoomTickInputs calls f with every input of tick datagram b, in
// order. A tick whose entries do not add up to its length is bad_frame
// (f may have seen the entries before the bad one).
func forUDPRoomTickInputs(b []byte, f func(member uint16, seq uint32, data []byte)) (udpRoomTickHdr, error) {
	h, err := parseUDPRoomTickHeader(b)
	if err != nil {
		return h, err
	}
	rest := b[udpRoomTickHeader:]
	for range h.count {
		if len(rest) < udpRoomTickEntry {
			return h, netcode.CodeBadFrame
		}
		n := int(binary.BigEndian.Uint16(rest[6:]))
		if len(rest)-udpRoomTickEntry < n {
			return h, netcode.CodeBadFrame
		}
		f(binary.BigEndian.Uint16(rest), binary.BigEndian.Uint32(rest[2:]), rest[udpRoomTickEntry:udpRoomTickEntry+n])
		rest = rest[udpRoomTickEntry+n:]
	}
	if len(rest) != 0 {
		return h, netcode.CodeBadFrame
	}
	return h, nil
}

// appendUDPRoomSendTimes appends the send times of the measured inputs
// of tick datagram b (the generator's header at the start of each
// input's data, as roomHeader says).
func appendUDPRoomSendTimes(dst []time.Duration, b []byte) ([]time.Duration, error) {
	_, err := forUDPRoomTickInputs(b, func(_ uint16, _ uint32, d []byte) {
		if len(d) >= roomHeader && d[12] == 1 {
			dst = append(dst, time.Duration(binary.BigEndian.Uint64(d)))
		}
	})
	return dst, err
}
