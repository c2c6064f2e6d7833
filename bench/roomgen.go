package bench

// The room generator's players. A room run simulates up to thousands of
// players from one core, so its clients are not Go SDK clients (the SDK
// runs a read loop, a ping loop and a Call table per client and copies
// every message it delivers): a player speaks the session protocol itself
// over the transport's real netcode.Conn, with the frames the SDK sends —
// Hello/Welcome, RoomCreate/RoomJoin with refs, a RoomInput per input,
// a Ping per heartbeat interval — and decodes each RoomTick in place.
// What the server sees is what an SDK client gives it; what the
// generator spends per player is one reader goroutine and what the
// transport costs.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// errUnexpectedFrame is a frame that has no place where it arrived.
var errUnexpectedFrame = errors.New("unexpected frame")

// roomClock is the generator's clock and measured window, shared by
// every player of a run: offsets from base, on the monotonic clock.
type roomClock struct {
	base     time.Time
	from, to atomic.Int64 // measured window [from, to), ns since base; 0, 0 before it is known
}

func (c *roomClock) now() time.Duration { return time.Since(c.base) }

func (c *roomClock) setWindow(from, to time.Duration) {
	c.to.Store(int64(to))
	c.from.Store(int64(from))
}

func (c *roomClock) measured(t time.Duration) bool {
	return int64(t) >= c.from.Load() && int64(t) < c.to.Load()
}

// player is one simulated member of a room run.
type player struct {
	idx     uint32
	roomIdx int
	group   int // flush group: players whose sessions share a socket and its event loop
	clock   *roomClock
	conn    netcode.Conn
	q       netcode.Queuer // conn's, nil when its transport has no event loop
	welcome frame.Welcome
	roomID  uint64
	token   string // the session's token (a redirect dials the owner node with it)
	node    int    // the cluster node the session is on (0 on one server)

	// The setup goroutine's only (one call in flight):
	lastRef uint32

	// The sender worker's only:
	seq      uint32
	nextPing time.Duration
	failed   bool // a send failed: the player stopped sending

	callRef atomic.Uint32 // ref of the call waiting for its reply, 0 if none
	reply   chan []byte   // capacity 1: the reply to callRef, from the reader

	shared bool // conn is on a shared client socket: pushed, no reader goroutine

	// Owned by the reader goroutine (or the socket's loop, pushed) until
	// done is closed:
	dec     *frame.Decoder
	tick    frame.RoomTick  // when room is nil
	sends   []time.Duration // when room is nil
	room    *roomTicks      // shared with the room's other members; nil: decode every tick
	hist    *Histogram
	readErr error
	done    chan struct{}

	delivered atomic.Int64 // measured inputs received in ticks
	sent      atomic.Int64 // measured inputs sent
	refused   atomic.Int64 // measured inputs the session refused (send queue full)
	ticks     atomic.Int64 // broadcasts received in the measured window
	badTicks  atomic.Int64
}

func newPlayer(idx uint32, roomIdx, group int, clock *roomClock) *player {
	return &player{
		idx: idx, roomIdx: roomIdx, group: group, clock: clock,
		reply: make(chan []byte, 1),
		dec:   frame.NewDecoder(),
		hist:  NewHistogram(),
		done:  make(chan struct{}),
	}
}

// attach makes conn the player's session.
func (p *player) attach(conn netcode.Conn) {
	p.conn = conn
	p.q, _ = conn.(netcode.Queuer)
}

// handshake sends Hello and waits for Welcome, as client.Dial does; a
// refusal comes back as a *netcode.CodedError. ctx ending closes conn.
func (p *player) handshake(ctx context.Context, token, name string) error {
	stop := context.AfterFunc(ctx, func() { _ = p.conn.Close(netcode.CodeOK, "dial cancelled") }) // the handshake's error is the one reported
	defer stop()
	hello, err := frame.Marshal(&frame.Hello{Version: frame.ProtocolVersion, Token: token, ClientName: name, ClientVersion: "tickbench"})
	if err != nil {
		return err
	}
	if err := p.conn.WriteMessage(netcode.Reliable, hello); err != nil {
		return fmt.Errorf("sending Hello: %w", err)
	}
	_, b, err := p.conn.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for Welcome: %w", ctx.Err())
		}
		return fmt.Errorf("waiting for Welcome: %w", err)
	}
	k, err := frame.Peek(b)
	if err != nil {
		return fmt.Errorf("waiting for Welcome: %w", err)
	}
	switch k {
	case frame.KindWelcome:
		if err := p.dec.Decode(b, &p.welcome); err != nil {
			return fmt.Errorf("bad Welcome: %w", err)
		}
		return nil
	case frame.KindError:
		var e frame.Error
		if err := p.dec.Decode(b, &e); err != nil {
			return fmt.Errorf("bad Error frame: %w", err)
		}
		return &netcode.CodedError{Code: e.Code, Msg: e.Message}
	case frame.KindClose:
		var cl frame.Close
		if err := p.dec.Decode(b, &cl); err != nil {
			return fmt.Errorf("bad Close frame: %w", err)
		}
		return &netcode.CodedError{Code: cl.Code, Msg: cl.Reason, Err: &netcode.CloseError{Code: cl.Code, Reason: cl.Reason}}
	}
	return fmt.Errorf("%w: kind %d before Welcome", errUnexpectedFrame, k)
}

// read is the player's reader goroutine: it decodes every broadcast and
// records the latency of each measured input in it, hands the reply of
// a call to the caller, and ends when the session does.
func (p *player) read() {
	defer close(p.done)
	for {
		_, b, err := p.conn.ReadMessage()
		if err != nil {
			p.readErr = err
			return
		}
		p.handle(b)
	}
}

// handle takes one frame from the server (on the reader goroutine, or on
// the socket's event loop for a pushed session).
func (p *player) handle(b []byte) {
	k, err := frame.Peek(b)
	switch {
	case err != nil:
		p.badTicks.Add(1)
	case k == frame.KindRoomTick:
		p.onTick(b)
	case k == frame.KindClose:
		// The server lingers until we close our end; the session then
		// ends.
		_ = p.conn.Close(netcode.CodeOK, "closed by server") // best effort, as the SDK does
	case k == frame.KindError || k == frame.KindOK || k >= frame.FirstServiceKind:
		if _, ref, err := frame.PeekRef(b); err == nil && ref != 0 && ref == p.callRef.Load() {
			select {
			case p.reply <- bytes.Clone(b):
			default: // a reply to this ref was already handed over
			}
		}
	}
	// Pongs and room events are not measured.
}

// pushedPlayer is a player whose frames its shared client socket's event
// loop hands over (netcode.Pusher): no reader goroutine per player. Only
// for a session on a shared kcp.ClientSocket, whose Close may run on the
// loop.
type pushedPlayer player

func (r *pushedPlayer) Receive(_ netcode.Channel, b []byte) { (*player)(r).handle(b) }

func (r *pushedPlayer) Ended(err error) {
	p := (*player)(r)
	p.readErr = err
	close(p.done)
}

// roomTicks is what the members of one room share of its broadcasts:
// the relay sends every member the same bytes, so the first member to
// receive a tick decodes it and the others, finding the same bytes,
// reuse the send times of its measured inputs (each member still records
// its own receive time). It saves seven decodes in eight.
type roomTicks struct {
	mu    sync.Mutex // guards the fields below
	raw   []byte     // the last tick decoded
	sends []time.Duration
	dec   *frame.Decoder
	tick  frame.RoomTick
}

func newRoomTicks() *roomTicks { return &roomTicks{dec: frame.NewDecoder()} }

// sendTimes returns the send times of the measured inputs in tick b,
// decoding it unless it is the tick decoded last. Called with rt.mu held;
// the result is valid until rt.mu is released.
func (rt *roomTicks) sendTimes(b []byte) ([]time.Duration, error) {
	if bytes.Equal(rt.raw, b) {
		return rt.sends, nil
	}
	rt.raw = rt.raw[:0]
	if err := rt.dec.Decode(b, &rt.tick); err != nil {
		return nil, err
	}
	rt.raw = append(rt.raw, b...)
	rt.sends = appendSendTimes(rt.sends[:0], &rt.tick)
	return rt.sends, nil
}

// appendSendTimes appends the send times of tick's measured inputs.
func appendSendTimes(dst []time.Duration, tick *frame.RoomTick) []time.Duration {
	for i := range tick.Inputs {
		d := tick.Inputs[i].Data
		if len(d) < roomHeader || d[12] != 1 {
			continue
		}
		dst = append(dst, time.Duration(binary.BigEndian.Uint64(d)))
	}
	return dst
}

// onTick records, for every measured input in tick b, the time from its
// sending to now.
func (p *player) onTick(b []byte) {
	now := p.clock.now()
	if p.clock.measured(now) {
		p.ticks.Add(1)
	}
	if p.room == nil {
		if err := p.dec.Decode(b, &p.tick); err != nil {
			p.badTicks.Add(1)
			return
		}
		p.sends = appendSendTimes(p.sends[:0], &p.tick)
		p.record(now, p.sends)
		return
	}
	p.room.mu.Lock()
	sends, err := p.room.sendTimes(b)
	if err == nil {
		p.record(now, sends)
	}
	p.room.mu.Unlock()
	if err != nil {
		p.badTicks.Add(1)
	}
}

func (p *player) record(now time.Duration, sends []time.Duration) {
	for _, s := range sends {
		p.hist.Record(now - s)
	}
	p.delivered.Add(int64(len(sends)))
}

// call sends req with a fresh ref and waits for the reply with that ref
// (read by the reader goroutine). An Error reply is a
// *netcode.CodedError. One call at a time per player.
func (p *player) call(ctx context.Context, req frame.Refer) ([]byte, error) {
	p.lastRef++
	ref := p.lastRef
	req.SetRef(ref)
	b, err := frame.Marshal(req)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.reply: // a late reply to an abandoned call
	default:
	}
	p.callRef.Store(ref)
	defer p.callRef.Store(0)
	if err := p.conn.WriteMessage(netcode.Reliable, b); err != nil {
		return nil, fmt.Errorf("send kind %d: %w", req.Kind(), err)
	}
	for {
		select {
		case m := <-p.reply:
			if _, got, _ := frame.PeekRef(m); got != ref {
				continue
			}
			if k, _ := frame.Peek(m); k == frame.KindError {
				var e frame.Error
				if err := frame.Unmarshal(m, &e); err != nil {
					return nil, fmt.Errorf("bad Error reply: %w", err)
				}
				return nil, &netcode.CodedError{Code: e.Code, Msg: e.Message}
			}
			return m, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, fmt.Errorf("session ended: %w", p.readErr)
		}
	}
}

// enter creates the room (opts set) or joins room id, and records its id.
func (p *player) enter(ctx context.Context, create *frame.RoomCreate, id uint64) error {
	var req frame.Refer = &frame.RoomJoin{RoomID: id}
	if create != nil {
		req = create
	}
	rd, err := p.request(ctx, req)
	if err != nil {
		return err
	}
	if rd != nil {
		return fmt.Errorf("%w: redirected to node %s (%s): list every node of the cluster", errUnexpectedFrame, rd.NodeID, rd.URL)
	}
	return nil
}

// request sends a room request (create, join, join-or-create, join with
// a ticket) and records the id of the room joined, or returns the
// redirect a cluster node answered with instead (docs/CLUSTER.md).
func (p *player) request(ctx context.Context, req frame.Refer) (*frame.RoomRedirect, error) {
	m, err := p.call(ctx, req)
	if err != nil {
		return nil, err
	}
	if k, _ := frame.Peek(m); k == frame.KindRoomRedirect {
		var rd frame.RoomRedirect
		if err := frame.Unmarshal(m, &rd); err != nil {
			return nil, fmt.Errorf("bad RoomRedirect: %w", err)
		}
		return &rd, nil
	}
	var j frame.RoomJoined
	if err := frame.Unmarshal(m, &j); err != nil {
		return nil, fmt.Errorf("room reply: %w", err)
	}
	p.roomID = j.RoomID
	return nil, nil
}

// players is the set of a run's players and their reader goroutines.
type players struct {
	all []*player
	wg  sync.WaitGroup // the reader goroutines
}

// start runs p's reader goroutine.
func (ps *players) start(p *player) {
	if pu, ok := p.conn.(netcode.Pusher); ok && p.shared {
		pu.Push((*pushedPlayer)(p))
		return
	}
	ps.wg.Go(p.read)
}

// close closes every session (par at a time) and waits for the readers.
func (ps *players) close(par int) {
	_ = parallel(context.Background(), len(ps.all), par, func(_ context.Context, i int) error {
		if p := ps.all[i]; p != nil && p.conn != nil {
			_ = p.conn.Close(netcode.CodeOK, "tickbench done") // best effort: the run is over
		}
		return nil
	})
	ps.wg.Wait()
}
