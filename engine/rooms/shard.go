package rooms

import (
	"container/heap"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
)

type opKind uint8

const (
	opInput opKind = iota
	opJoin
	opLeave
	opClose
	opMedia      // a voice frame: handled at once (voice.go)
	opMediaState // a VoiceSet request
	opAway       // the member's connection was lost (service.Resumer)
	opBack       // the member resumed
)

// op is one request queued to a room's inbox.
type op struct {
	kind opKind
	st   room.MediaState // opMediaState (beside kind: no padding added)
	sess *session
	ref  uint32
	ch   netcode.Channel
	seq  uint32
	ts   uint32 // opMedia: the frame's timestamp
	off  int    // input data: arena[off:off+n]
	n    int
	code netcode.Code // opClose
	msg  string       // opClose
}

// roomRun is a room as its worker sees it. The inbox fields are shared
// with sessions under mu; everything else belongs to the owning worker
// (before the room reaches a worker, to the goroutine that created it).
type roomRun struct {
	h      *Hub
	e      *entry
	typ    *roomType
	period time.Duration
	media  bool // the room takes voice frames (room.MediaHandler)

	mu      sync.Mutex // guards the inbox fields below
	queue   []op
	arena   []byte
	inputs  int  // inputs in queue
	flagged bool // queued to the worker for a prompt drain
	done    bool // closed: refuse new ops

	// Owned by the worker.
	shard   *shard
	r       *room.Room
	members map[uint32]*session // member id → session
	bySess  map[*session]uint32 // session → member id
	next    time.Time           // next tick deadline
	hidx    int                 // index in the worker's heap, -1 when out
	spareQ  []op
	spareA  []byte
}

func newRoomRun(h *Hub, e *entry, r *room.Room) *roomRun {
	return &roomRun{
		h: h, e: e, typ: e.typ, r: r, period: r.Config().Period(), media: r.TakesMedia(),
		members: map[uint32]*session{}, bySess: map[*session]uint32{}, hidx: -1,
	}
}

// enqueue adds o (with a copy of data) to the inbox. Inputs wait for the
// next tick; other ops — voice frames and VoiceSets among them — wake the
// worker. Inputs, voice frames and VoiceSets (what a member can send at
// will) count against InboxSize: a full inbox drops the new one
// (ErrInboxFull); joins, leaves and closes are bounded by the room's seats.
// A closed room refuses everything (ErrRoomNotFound).
func (rr *roomRun) enqueue(o op, data []byte) error {
	rr.mu.Lock()
	if rr.done {
		rr.mu.Unlock()
		return ErrRoomNotFound
	}
	if o.kind == opInput || o.kind == opMedia || o.kind == opMediaState {
		if rr.inputs >= rr.h.cfg.InboxSize {
			rr.mu.Unlock()
			rr.h.drops.inboxFull.Add(1)
			return ErrInboxFull
		}
		rr.inputs++
		o.off, o.n = len(rr.arena), len(data)
		rr.arena = append(rr.arena, data...)
		rr.queue = append(rr.queue, o)
		if o.kind == opInput {
			rr.mu.Unlock()
			return nil
		}
	} else {
		rr.queue = append(rr.queue, o)
	}
	wake := !rr.flagged && rr.shard != nil
	rr.flagged = true
	sh := rr.shard
	rr.mu.Unlock()
	if wake {
		sh.flag(rr)
	}
	return nil
}

// shard is one tick worker: it owns a set of rooms and ticks each against
// absolute deadlines. step is its sans-IO core; run is the goroutine.
type shard struct {
	h    *Hub
	id   int
	load atomic.Int64 // rooms owned, for placement
	wake chan struct{}

	mu       sync.Mutex // guards the fields below
	incoming []*roomRun
	flagged  []*roomRun

	// Owned by the worker.
	heap     runHeap
	takeIn   []*roomRun
	takeFlag []*roomRun
	errFrame frame.Error
	vdec     *frame.Decoder   // voice frames for browser members (sfu.go)
	vf       frame.VoiceFrame // decoded by vdec
	// unflushed holds the batching peers queued to since the last flush:
	// each is flushed once at the end of a step, however many frames and
	// rooms it got.
	unflushed map[*session]service.BatchPeer
}

func newShard(h *Hub, id int) *shard {
	return &shard{h: h, id: id, wake: make(chan struct{}, 1), unflushed: map[*session]service.BatchPeer{}}
}

// add hands a new room to the worker.
func (s *shard) add(rr *roomRun) {
	s.load.Add(1)
	rr.mu.Lock()
	rr.shard = s
	flagged := rr.flagged || len(rr.queue) > 0
	rr.flagged = flagged
	rr.mu.Unlock()
	s.mu.Lock()
	s.incoming = append(s.incoming, rr)
	if flagged {
		s.flagged = append(s.flagged, rr)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *shard) flag(rr *roomRun) {
	s.mu.Lock()
	s.flagged = append(s.flagged, rr)
	s.mu.Unlock()
	s.signal()
}

// signal is a coalesced wakeup.
func (s *shard) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// step does everything due at now: adopts new rooms (first tick one
// period from now), drains flagged inboxes, and ticks every room whose
// deadline has passed. It returns the next deadline (ok false when the
// worker owns no room).
func (s *shard) step(now time.Time) (next time.Time, ok bool) {
	s.mu.Lock()
	s.takeIn, s.incoming = s.incoming, s.takeIn[:0]
	s.takeFlag, s.flagged = s.flagged, s.takeFlag[:0]
	s.mu.Unlock()
	for i, rr := range s.takeIn {
		// Spread first deadlines over the period (golden-ratio phases by
		// creation order), so that rooms created together do not all fall
		// due at once and queue behind each other at every tick.
		var phase time.Duration
		if !s.h.cfg.AlignTicks {
			phase = time.Duration(float64(rr.period) * math.Mod(float64(rr.e.seq)*0.6180339887498949, 1))
		}
		rr.next = now.Add(rr.period + phase)
		heap.Push(&s.heap, rr)
		s.takeIn[i] = nil
	}
	for i, rr := range s.takeFlag {
		s.takeFlag[i] = nil
		if rr.hidx >= 0 {
			s.drain(rr, now)
		}
	}
	for len(s.heap) > 0 && !s.heap[0].next.After(now) {
		rr := s.heap[0]
		// Each room's tick gets the time it really starts (later rooms of
		// a busy step start later than now), for honest lateness figures.
		s.tick(rr, s.h.cfg.Clock())
		if rr.hidx >= 0 {
			heap.Fix(&s.heap, rr.hidx)
		}
	}
	s.flush()
	if len(s.heap) == 0 {
		return time.Time{}, false
	}
	return s.heap[0].next, true
}

// tick runs one room's tick for its deadline rr.next and schedules the
// next one. Deadlines that passed while this tick was late are skipped
// and counted, never replayed.
func (s *shard) tick(rr *roomRun, now time.Time) {
	st := &rr.typ.stats
	st.lateness.record(now.Sub(rr.next))
	start := now
	s.drain(rr, now)
	if rr.hidx < 0 {
		return
	}
	err := rr.r.Tick(now)
	s.deliver(rr)
	st.ticks.Add(1)
	if err != nil {
		s.closeRoom(rr, now, err)
		return
	}
	if code, msg, asked := rr.r.CloseRequested(); asked {
		s.closeRoom(rr, now, netcode.Errorf(code, "%s", msg))
		return
	}
	if rr.r.Expired(now) && s.h.tryExpire(rr.e) {
		st.expired.Add(1)
		s.closeRoom(rr, now, netcode.Errorf(netcode.CodeRoomClosed, "empty room timed out"))
		return
	}
	st.tickTime.record(s.h.cfg.Clock().Sub(start))
	rr.next = rr.next.Add(rr.period)
	if !rr.next.After(now) {
		missed := now.Sub(rr.next)/rr.period + 1
		st.skipped.Add(uint64(missed))
		rr.next = rr.next.Add(missed * rr.period)
	}
}

// drain processes the room's inbox in arrival order.
func (s *shard) drain(rr *roomRun, now time.Time) {
	rr.mu.Lock()
	q, a := rr.queue, rr.arena
	rr.queue, rr.arena = rr.spareQ[:0], rr.spareA[:0]
	rr.inputs, rr.flagged = 0, false
	rr.mu.Unlock()
	for i := range q {
		if rr.hidx < 0 { // closed by an earlier op
			s.refuse(rr, &q[i])
			continue
		}
		s.apply(rr, &q[i], a, now)
	}
	clear(q)
	rr.spareQ, rr.spareA = q[:0], a[:0]
}

func (s *shard) apply(rr *roomRun, o *op, arena []byte, now time.Time) {
	var err error
	switch o.kind {
	case opInput:
		id, ok := rr.bySess[o.sess]
		if !ok {
			s.h.drops.notMember.Add(1)
			return
		}
		rr.typ.stats.inputs.Add(1)
		err = rr.r.Input(now, id, o.ch, o.seq, arena[o.off:o.off+o.n])
	case opMedia:
		id, ok := rr.bySess[o.sess]
		if !ok {
			s.h.voice.NotMember.Add(1)
			return
		}
		err = rr.r.Media(now, id, o.seq, o.ts, arena[o.off:o.off+o.n])
	case opMediaState:
		err = s.applyMediaState(rr, o, now)
	case opJoin:
		var m room.Member
		m, err = rr.r.Join(now, o.sess.peer.UserID(), o.sess.peer.DisplayName(), o.ref)
		if m.ID != 0 {
			rr.members[m.ID] = o.sess
			rr.bySess[o.sess] = m.ID
		} else {
			o.sess.removeRoom(rr.e.id)
			s.h.releaseSeat(rr.e)
			s.sendError(o.sess, err, o.ref)
			return
		}
	case opLeave:
		id, ok := rr.bySess[o.sess]
		if !ok { // its join failed (and was answered) before the leave ran
			if o.ref != 0 {
				o.sess.reply(&frame.OK{Ref: o.ref})
			}
			return
		}
		delete(rr.bySess, o.sess)
		delete(rr.members, id)
		_, err = rr.r.Leave(now, id)
		s.h.releaseSeat(rr.e)
		if o.ref != 0 {
			o.sess.reply(&frame.OK{Ref: o.ref})
		}
	case opClose:
		s.deliver(rr)
		s.closeRoom(rr, now, netcode.Errorf(o.code, "%s", o.msg))
		return
	case opAway, opBack:
		id, ok := rr.bySess[o.sess]
		if !ok {
			return // its join has not run, or it left
		}
		if o.kind == opAway {
			err = rr.r.Away(now, id)
		} else {
			err = rr.r.Back(now, id)
		}
	}
	s.deliver(rr)
	if err != nil && rr.r.Crash() != nil {
		s.closeRoom(rr, now, err)
	}
}

// refuse answers an op queued to a room that closed before it ran:
// joins fail with CodeRoomClosed, leaves succeed, inputs are dropped.
func (s *shard) refuse(rr *roomRun, o *op) {
	switch o.kind {
	case opJoin:
		o.sess.removeRoom(rr.e.id)
		s.sendError(o.sess, room.ErrClosed, o.ref)
	case opLeave:
		if o.ref != 0 {
			o.sess.reply(&frame.OK{Ref: o.ref})
		}
	case opMediaState:
		s.sendError(o.sess, room.ErrClosed, o.ref)
	}
}

func (s *shard) sendError(sess *session, err error, ref uint32) {
	s.errFrame = frame.Error{Code: netcode.CodeOf(err), Message: err.Error(), Ref: ref}
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		s.errFrame.Message = ce.Msg
	}
	sess.reply(&s.errFrame)
}

// deliver sends the room's outbox: each frame was encoded once and the
// same bytes go to every recipient. Frames to a batching peer are only
// queued; the step flushes each such peer once at its end. Nothing here
// blocks; refusals count.
func (s *shard) deliver(rr *roomRun) {
	st := &rr.typ.stats
	var sent, dropped uint64
	for _, m := range rr.r.Outbox() {
		if id, one := m.To.Single(); one {
			if sess := rr.members[id]; sess != nil {
				if s.sendMember(rr, sess, m.Channel, m.Frame) {
					sent++
				} else {
					dropped++
				}
			}
			continue
		}
		for id, sess := range rr.members {
			if !m.To.Includes(id) {
				continue
			}
			if s.sendMember(rr, sess, m.Channel, m.Frame) {
				sent++
			} else {
				dropped++
			}
		}
	}
	rr.r.ResetOutbox()
	if d := rr.r.TakeDropped(); d > 0 {
		st.handlerDrop.Add(d)
	}
	if sent > 0 {
		st.sends.Add(sent)
	}
	if dropped > 0 {
		st.sendDropped.Add(dropped)
	}
}

// send queues b to sess: with BatchPeer.Queue when the peer batches
// (remembered for flush), else with Send.
func (s *shard) send(sess *session, ch netcode.Channel, b []byte) bool {
	bp, ok := sess.peer.(service.BatchPeer)
	if !ok {
		return sess.peer.Send(ch, b)
	}
	if !bp.Queue(ch, b) {
		return false
	}
	s.unflushed[sess] = bp
	return true
}

// flush flushes every peer queued to since the last flush, once each. On
// an event-loop transport the first Flush sends what every session of
// its loop has queued, so the later ones of the same loop find nothing.
func (s *shard) flush() {
	for _, bp := range s.unflushed {
		bp.Flush()
	}
	clear(s.unflushed)
}

// closeRoom ends a room: it leaves the directory, refuses what is still
// queued, tells the members, and leaves the worker.
func (s *shard) closeRoom(rr *roomRun, now time.Time, cause error) {
	if rr.hidx < 0 {
		return
	}
	st := &rr.typ.stats
	code := netcode.CodeOf(cause)
	msg := cause.Error()
	var ce *netcode.CodedError
	if errors.As(cause, &ce) && ce.Code == code {
		msg = ce.Msg
	}
	if pe := rr.r.Crash(); pe != nil {
		code, msg = netcode.CodeRoomCrashed, "room handler failed"
		st.crashed.Add(1)
		s.h.cfg.Logger.Error("room handler panicked; room closed", "type", rr.typ.name, "room", rr.e.id,
			"in", pe.In, "panic", pe.Value, "stack", string(pe.Stack))
	}
	s.h.remove(rr.e)
	rr.mu.Lock()
	rr.done = true
	rest := rr.queue
	rr.queue, rr.inputs = nil, 0
	rr.mu.Unlock()

	heap.Remove(&s.heap, rr.hidx)
	for i := range rest {
		s.refuse(rr, &rest[i])
	}
	crashedBefore := rr.r.Crash() != nil
	rr.r.Close(now, code, msg)
	if pe := rr.r.Crash(); pe != nil && !crashedBefore {
		st.crashed.Add(1)
		s.h.cfg.Logger.Error("room handler panicked while closing", "type", rr.typ.name, "room", rr.e.id,
			"in", pe.In, "panic", pe.Value, "stack", string(pe.Stack))
	}
	s.deliver(rr)
	for _, sess := range rr.members {
		sess.removeRoom(rr.e.id)
		sess.detachAudio(rr.e.id, false)
	}
	clear(rr.members)
	clear(rr.bySess)
	s.load.Add(-1)
	st.rooms.Add(-1)
	st.closed.Add(1)
}

// shutdown closes every room the worker owns or was handed.
func (s *shard) shutdown(now time.Time) {
	s.step(now)
	for len(s.heap) > 0 {
		s.closeRoom(s.heap[0], now, netcode.Errorf(netcode.CodeServerShutdown, "server shutting down"))
	}
	s.flush()
}

// run is the worker goroutine: sleep until the next deadline or a wakeup,
// then step. It returns after stop closes and every room is closed.
func (s *shard) run(stop <-chan struct{}) {
	clock := s.h.cfg.Clock
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := s.step(clock())
		wait := time.Hour
		if ok {
			wait = next.Sub(clock())
		}
		if wait <= 0 { // already due: step again, but still honour stop
			select {
			case <-stop:
				s.shutdown(clock())
				return
			default:
				continue
			}
		}
		timer.Reset(wait)
		select {
		case <-stop:
			s.shutdown(clock())
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// runHeap orders rooms by next deadline.
type runHeap []*roomRun

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h runHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *runHeap) Push(x any) {
	rr := x.(*roomRun)
	rr.hidx = len(*h)
	*h = append(*h, rr)
}
func (h *runHeap) Pop() any {
	old := *h
	rr := old[len(old)-1]
	old[len(old)-1] = nil
	rr.hidx = -1
	*h = old[:len(old)-1]
	return rr
}
