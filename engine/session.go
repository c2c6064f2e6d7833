package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// session is one connection from accept to close. Its reader goroutine
// (readLoop) owns the decoding state and calls the services; its writer
// goroutine (writeLoop) owns conn.WriteMessage. Everything else is safe
// from any goroutine.
//
// On a Conn that is a netcode.Queuer (KCP, driven by an event loop) the
// session has no writer: it starts in direct mode (see sendQueue), where
// Send hands each frame to the transport in the sender's goroutine and
// flushes it there, and the reader flushes its replies after each message
// it read. Only hello queues, from the Welcome until every service saw
// PeerOpened, then hands the queue over itself (goDirect). The close
// sequence (Close frame, linger, Conn.Close) runs on a goroutine that
// close starts (finishLoop), owned by the engine like the writer.
type session struct {
	e    *Engine
	conn netcode.Conn
	id   uint64
	log  *slog.Logger // reader-owned once the session runs: hello adds the client to it

	ip    netip.Addr // the MaxSessionsPerIP key (ipKey); set before the session runs
	hasIP bool

	// Identity, written by the reader before authed is set and never
	// changed afterwards.
	userID string
	name   string
	guest  bool
	authed atomic.Bool
	peer   *peer // what services see; set by hello or resume before authed

	maxUnrel int // the transport's unreliable message limit (0: none below MaxFrameSize); see peer.Queue

	q          sendQueue
	wake       chan struct{} // capacity 1: coalesced writer wake-ups; nil without a writer
	closing    chan struct{} // closed once the session starts closing
	finished   chan struct{} // closed once the writer or finishLoop has closed the Conn
	readerDone chan struct{} // closed when ReadMessage failed: the peer is gone or the conn closed
	forced     chan struct{} // closed by forceClose: stop lingering
	forceOnce  sync.Once

	chc chanCounters // frames and bytes by channel (chanstats.go)

	lastActivity atomic.Int64 // unix nanos of the last service frame that counts as activity
	holding      atomic.Bool  // the writer waits: Welcome is queued, services not yet told

	closeOnce   sync.Once
	closeCode   netcode.Code // written once before closing is closed
	closeReason string
	closeMode   closeMode

	runBufs [][]byte // writer-owned: one run of frames for WriteMessages

	// Reader-owned state.
	dec       *frame.Decoder
	enc       *frame.Encoder
	limiter   *rate.Limiter // MaxFramesPerSecond; nil when lifted
	answers   *rate.Limiter // rate_limited Error answers: at most rateLimitedAnswers a second; made by the first refusal
	floodFrom time.Time     // start of the current run of refusals (see rateLimited)
	floodLast time.Time     // the last refusal
	bad       int
	opened    bool // services saw PeerOpened
	handshake *time.Timer
	ping      frame.Ping
	pong      frame.Pong
	echo      frame.Echo
	ackIn     frame.Ack
}

var (
	_ service.Peer             = (*session)(nil)
	_ service.BatchPeer        = (*session)(nil)
	_ service.ActivityReporter = (*session)(nil)
)

func newSession(e *Engine, c netcode.Conn, id uint64) *session {
	s := &session{
		e:          e,
		conn:       c,
		id:         id,
		log:        e.log.With("session", id, "transport", c.Transport(), "remote", c.RemoteAddr().String()),
		closing:    make(chan struct{}),
		finished:   make(chan struct{}),
		readerDone: make(chan struct{}),
		forced:     make(chan struct{}),
		dec:        frame.NewDecoder(),
		enc:        frame.NewEncoder(),
	}
	s.q.rel = newRing(e.cfg.ReliableQueue)
	s.q.unrel = newRing(e.cfg.UnreliableQueue)
	s.q.qr, _ = c.(netcode.Queuer)
	if m, ok := c.(interface{ MaxUnreliableMessage() int }); ok {
		s.maxUnrel = m.MaxUnreliableMessage()
	}
	if s.q.qr != nil {
		s.q.direct.Store(true) // no writer: direct from the first frame (see hello)
	} else {
		s.wake = make(chan struct{}, 1)
	}
	if n := e.cfg.MaxFramesPerSecond; n > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(n), n)
	}
	return s
}

// SessionID implements service.Peer.
func (s *session) SessionID() uint64 { return s.id }

// UserID implements service.Peer.
func (s *session) UserID() string { return s.userID }

// DisplayName implements service.Peer.
func (s *session) DisplayName() string { return s.name }

// LastActivity implements service.ActivityReporter.
func (s *session) LastActivity() time.Time {
	if s.peer != nil && s.authed.Load() {
		return s.peer.LastActivity()
	}
	if n := s.lastActivity.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Guest implements service.Peer.
func (s *session) Guest() bool { return s.guest }

// Send implements service.Peer: Queue, then Flush. It never blocks; in
// direct mode the Flush may make a (batched) system call in the caller's
// goroutine.
func (s *session) Send(ch netcode.Channel, b []byte) bool {
	if !s.Queue(ch, b) {
		return false
	}
	s.Flush()
	return true
}

// Queue implements service.BatchPeer: b is queued for the writer without
// copying or, in direct mode, copied into the transport's queue, where it
// waits for a Flush (or the transport's flush delay).
func (s *session) Queue(ch netcode.Channel, b []byte) bool {
	if !ch.Valid() {
		return false
	}
	return s.queue(outFrame{ch: ch, b: b})
}

// Flush implements service.BatchPeer: in direct mode it sends what every
// session of the Conn's event loop has queued, in the calling goroutine;
// otherwise the writer (or, while hello holds the queue, goDirect) sends
// and Flush does nothing.
func (s *session) Flush() {
	if s.q.direct.Load() {
		s.q.qr.Flush()
	}
}

// Close implements service.Peer: queued frames are flushed, then a Close
// frame is sent and the connection closed.
func (s *session) Close(code netcode.Code, reason string) { s.close(code, reason, closeGraceful) }

// queue queues f and wakes the writer or, in direct mode, hands f to the
// transport (without flushing). A full reliable queue, or a transport
// queue that is full, closes the session with CodeSlowConsumer.
func (s *session) queue(f outFrame) bool {
	res, dropped, err := s.q.offer(f)
	switch res {
	case pushed, pushedDropped:
		if res == pushedDropped {
			s.e.c.drops[dropUnreliableOverflow].Add(1)
			s.e.putBuf(dropped.buf)
		}
		s.wakeWriter()
		return true
	case rejectedClosed:
		s.e.c.drops[dropClosed].Add(1)
		s.e.putBuf(f.buf)
		return false
	}
	ok := s.settle(f, res)
	s.refused(res, err)
	return ok
}

// settle counts the final outcome of a frame that did not go to the
// writer — handed to the transport in direct mode (see
// sendQueue.handLocked), or refused by a full reliable queue — and
// releases its buffer (the transport has copied it). It reports whether
// the transport took f. It takes no lock and may run under q.mu.
func (s *session) settle(f outFrame, res pushResult) bool {
	c := &s.e.c
	s.e.putBuf(f.buf)
	if f.ch == netcode.Unreliable && (res == handedPromoted || res == rejectedTooLarge) {
		c.drops[promotedTooLarge].Add(1)
	}
	switch res {
	case handed, handedPromoted:
		ch := f.ch
		if res == handedPromoted {
			ch = netcode.Reliable
		}
		s.chc.out(ch, len(f.b))
		return true
	case rejectedTooLarge:
		c.drops[dropTooLarge].Add(1)
	case rejectedFull:
		c.drops[dropReliableOverflow].Add(1)
	case rejectedEnded:
		c.drops[dropClosed].Add(1)
	}
	return false
}

// wakeWriter wakes the writer, if the session has one (a coalesced,
// non-blocking send).
func (s *session) wakeWriter() {
	if s.wake == nil {
		return // no writer: hello hands the held frames over itself
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// refused closes the session after a refusal that ends it: a full
// reliable queue or transport queue (slow consumer), or a Conn that ended
// under a hand-off (err). It must not run under q.mu.
func (s *session) refused(res pushResult, err error) {
	switch res {
	case rejectedFull:
		if err != nil { // direct mode: no write is in progress; finishLoop closes the Conn at once
			s.close(netcode.CodeSlowConsumer, "transport send queue full", closeAbort)
			return
		}
		s.close(netcode.CodeSlowConsumer, "reliable send queue overflowed", closeAbort)
		s.e.closer.add(s) // the writer is probably stuck in a write: cut it short
	case rejectedEnded:
		code, reason := endCode(err)
		s.close(code, reason, endMode(err))
	}
}

// endCode is the close code and reason of a session whose Conn ended
// under a hand-off: the reader's for the same end (it sees it too, and
// whichever closes first names it), or slow_consumer for a write timeout.
func endCode(err error) (netcode.Code, string) {
	if errors.Is(err, netcode.ErrWriteTimeout) {
		return netcode.CodeSlowConsumer, "write failed: " + err.Error()
	}
	return readErrCode(err)
}

// closeMode says how a session closes.
type closeMode uint8

const (
	// closeAbort: the writer closes the connection as soon as it is
	// free; queued frames are dropped.
	closeAbort closeMode = iota
	// closeGraceful: the writer flushes what is queued, sends a Close
	// frame and lingers before closing the connection.
	closeGraceful
	// closeLost: as closeAbort, for a connection that was lost (a read
	// or write error, an idle timeout, the transport closing): the
	// session is parked for a Resume, not ended (see Engine.detach).
	closeLost
)

// lostMode is the close mode of a connection whose write failed with
// code: lost (parked for a Resume), except a write that timed out
// (slow_consumer), which ends the session.
func lostMode(code netcode.Code) closeMode {
	if code == netcode.CodeSlowConsumer {
		return closeAbort
	}
	return closeLost
}

// endMode is the close mode of a connection that ended with err under
// the session: a transport close from the client with code ok is a
// goodbye (the session ends); a write timeout ends it too (slow
// consumer); anything else — a transport close with another code, a
// stream that ended without one, an idle timeout, a read error — is a
// lost connection, parked for a Resume.
func endMode(err error) closeMode {
	var ce *netcode.CloseError
	if errors.As(err, &ce) && ce.Code == netcode.CodeOK {
		return closeAbort
	}
	if errors.Is(err, netcode.ErrWriteTimeout) {
		return closeAbort
	}
	return closeLost
}

// close starts closing the session; the first call wins. closeGraceful
// lets the writer flush what is queued and send a Close frame; closeAbort
// has the writer close the connection as soon as it is free. A session
// without a writer (on a Queuer) starts finishLoop to do the same. close
// never closes the connection itself (it may run on a service's
// goroutine, which must not wait for a socket): a caller that needs a
// stuck writer cut short closes the connection too, or has the engine's
// closer do it.
func (s *session) close(code netcode.Code, reason string, mode closeMode) {
	s.closeOnce.Do(func() {
		s.closeCode, s.closeReason, s.closeMode = code, reason, mode
		s.q.close()
		close(s.closing)
		if s.wake == nil {
			// The reader cannot have ended yet (it waits for finished,
			// which only finishLoop closes), so sessWG is above zero and
			// Shutdown's Wait covers this goroutine.
			s.e.sessWG.Add(1)
			go s.finishLoop()
		}
	})
}

// finishLoop is the writer's last job for a session without a writer: the
// graceful or aborting close sequence (finish), started by close.
func (s *session) finishLoop() {
	defer s.e.sessWG.Done()
	defer close(s.finished)
	s.finish(nil)
}

// forceClose closes the connection whatever state the writer is in; used
// when a graceful shutdown ran out of time.
func (s *session) forceClose() {
	s.close(netcode.CodeServerShutdown, "server shutting down", closeAbort)
	s.forceOnce.Do(func() { close(s.forced) })
	_ = s.conn.Close(netcode.CodeServerShutdown, "server shutting down") // idempotent; out of time, nothing left to tell
}

// writeLoop is the only writer of a session on a Conn that is not a
// Queuer, from accept to close.
func (s *session) writeLoop() {
	s.e.writers.Add(1)
	defer s.e.sessWG.Done()
	defer s.e.writers.Add(-1)
	defer close(s.finished)
	var batch []outFrame
	for {
		select {
		case <-s.wake:
			if s.holding.Load() {
				continue // hello wakes the writer again once services know the session
			}
		case <-s.closing:
		}
		var err error
		batch, err = s.writeBatch(batch)
		if err != nil {
			code := writeErrCode(err)
			s.close(code, "write failed: "+err.Error(), lostMode(code))
			s.finish(batch)
			return
		}
		select {
		case <-s.closing:
			s.finish(batch)
			return
		default:
		}
	}
}

// goDirect ends hello's hold on a session without a writer (see
// sendQueue): what is queued — the Welcome and whatever services sent
// during PeerOpened — goes to the transport in queue order, then the flag
// is set, both under q.mu, so every later Send lands behind them; then it
// flushes. The rings are released: nothing queues in them again. Only the
// reader calls it, at the end of hello (or of a resume). It stops early
// when the queue was closed first (finishLoop writes what is queued, or
// drops it) or a refusal is closing the session.
func (s *session) goDirect() {
	q := &s.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	batch := q.drainLocked(nil)
	q.rel.release()
	q.unrel.release()
	res, err := handed, error(nil)
	for i := range batch {
		if res != rejectedFull && res != rejectedEnded {
			res, err = q.handLocked(batch[i])
			s.settle(batch[i], res)
		} else { // the session is closing with an abort: drop the rest
			s.e.putBuf(batch[i].buf)
		}
		batch[i] = outFrame{}
	}
	ok := res != rejectedFull && res != rejectedEnded
	q.direct.Store(ok)
	q.mu.Unlock()
	if !ok {
		s.refused(res, err)
		return
	}
	q.qr.Flush()
}

// writeBatch writes everything queued; on error the unwritten frames'
// buffers are released.
func (s *session) writeBatch(batch []outFrame) ([]outFrame, error) {
	batch = s.q.drain(batch[:0])
	var err error
	bw, _ := s.conn.(batchWriter)
	for i := 0; i < len(batch) && err == nil; {
		n := 1
		if bw != nil { // a run of frames on one channel goes in one call
			for i+n < len(batch) && batch[i+n].ch == batch[i].ch {
				n++
			}
		}
		if n > 1 {
			err = s.writeRun(bw, batch[i:i+n])
		} else {
			err = s.write(batch[i].ch, batch[i].b)
		}
		i += n
	}
	for i := range batch {
		s.e.putBuf(batch[i].buf)
		batch[i] = outFrame{}
	}
	return batch[:0], err
}

// batchWriter is implemented by transports that write several messages
// at once (KCP: frames queued together share datagrams and one flush).
// WriteMessages checks every size before sending anything.
type batchWriter interface {
	WriteMessages(ch netcode.Channel, msgs [][]byte) error
}

// writeRun writes frames queued together on one channel with one
// WriteMessages call. A run holding a frame the transport refuses as too
// large is written frame by frame instead, so that frame alone is
// promoted or dropped (see write).
func (s *session) writeRun(bw batchWriter, run []outFrame) error {
	s.runBufs = s.runBufs[:0]
	for i := range run {
		s.runBufs = append(s.runBufs, run[i].b)
	}
	err := bw.WriteMessages(run[0].ch, s.runBufs)
	clear(s.runBufs)
	if errors.Is(err, netcode.ErrMessageTooLarge) {
		for i := range run {
			if err := s.write(run[i].ch, run[i].b); err != nil {
				return err
			}
		}
		return nil
	}
	if err == nil {
		for i := range run {
			s.chc.out(run[i].ch, len(run[i].b))
		}
	}
	return err
}

// write sends one frame. A frame the transport refuses as too large does
// not end the session: an unreliable one (e.g. a tick broadcast above a
// KCP datagram) goes on the reliable channel instead, which fragments; a
// reliable one is dropped. Both are counted.
func (s *session) write(ch netcode.Channel, b []byte) error {
	err := s.conn.WriteMessage(ch, b)
	if errors.Is(err, netcode.ErrMessageTooLarge) {
		if ch == netcode.Unreliable {
			s.e.c.drops[promotedTooLarge].Add(1)
			ch = netcode.Reliable
			err = s.conn.WriteMessage(ch, b)
		}
		if errors.Is(err, netcode.ErrMessageTooLarge) {
			s.e.c.drops[dropTooLarge].Add(1)
			return nil
		}
	}
	if err == nil {
		s.chc.out(ch, len(b))
	}
	return err
}

// finish runs once the session is closing, on the writer or finishLoop.
// A graceful close flushes the queue, sends Close, and lingers until the
// peer closes its end (or CloseLinger passes) so that a transport whose
// close does not wait for in-flight reliable data (KCP) still delivers the
// final frames; then the connection is closed. In direct mode the queue
// is empty (every frame was handed over before close, see
// sendQueue.close) and the Close frame's WriteMessage queues behind them
// and flushes; a session closed while hello held its queue writes what
// is held first, as the writer would.
func (s *session) finish(batch []outFrame) {
	if s.closeMode == closeGraceful {
		var err error
		if batch, err = s.writeBatch(batch); err == nil {
			if b, err := frame.Marshal(&frame.Close{Code: s.closeCode, Reason: netcode.TruncateUTF8(s.closeReason, frame.MaxMessageLen)}); err == nil {
				if s.conn.WriteMessage(netcode.Reliable, b) == nil {
					s.chc.out(netcode.Reliable, len(b))
					s.linger()
				}
			}
		}
	}
	for _, f := range s.q.drain(batch[:0]) {
		s.e.putBuf(f.buf)
	}
	_ = s.conn.Close(s.closeCode, s.closeReason) // idempotent; the peer may be gone
}

// linger waits for the peer to close, for CloseLinger, or for forceClose.
func (s *session) linger() {
	t := time.NewTimer(s.e.cfg.CloseLinger)
	defer t.Stop()
	select {
	case <-s.readerDone:
	case <-t.C:
	case <-s.forced:
	}
}

func writeErrCode(err error) netcode.Code {
	if errors.Is(err, netcode.ErrWriteTimeout) {
		return netcode.CodeSlowConsumer
	}
	return netcode.CodeOK
}

// readLoop is the session's reader; when it ends it tears the session down.
func (s *session) readLoop() {
	defer s.e.sessWG.Done()
	s.e.readers.Add(1)
	defer s.e.readers.Add(-1)
	s.handshake = time.AfterFunc(s.e.cfg.HandshakeTimeout, func() {
		if !s.authed.Load() {
			s.close(netcode.CodeHandshakeTimeout, "no valid Hello within "+s.e.cfg.HandshakeTimeout.String(), closeGraceful)
		}
	})
	pusher, _ := s.conn.(netcode.Pusher)
	for {
		ch, data, err := s.conn.ReadMessage()
		if err != nil {
			s.readFailed(err)
			break
		}
		select {
		case <-s.closing:
			// Closing: input is read and discarded until the writer
			// closes the connection or the peer does.
			continue
		default:
			s.handle(s.e.cfg.Now(), ch, data)
			s.Flush() // direct mode: the replies (Pong, Echo, Error, a service's) leave now, together
		}
		if pusher != nil && s.opened {
			// Open, on an event-loop transport: from here on its loop
			// hands the session's frames over (pushed.Receive) in the
			// pass that read them, and this goroutine ends. The session
			// keeps its place in sessWG until pushedSession.Ended tears it down.
			s.e.sessWG.Add(1)
			pusher.Push((*pushedSession)(s))
			return
		}
	}
	s.teardown()
}

// readFailed starts closing the session after its connection's read
// side ended with err.
func (s *session) readFailed(err error) {
	code, reason := readErrCode(err)
	s.close(code, reason, endMode(err))
	_ = s.conn.Close(code, reason) // unblocks a writer stuck on a dead link
}

// pushedSession is a session as its transport's Receiver (netcode.Pusher): the
// reader's work, run by the transport's event loop. Calls never overlap,
// so the reader-owned state stays single-owner; nothing here blocks (the
// services' HandleFrame must not), and what the replies queue leaves with
// the loop's flush at the end of the pass.
type pushedSession session

// Receive implements netcode.Receiver.
func (p *pushedSession) Receive(ch netcode.Channel, data []byte) {
	s := (*session)(p)
	select {
	case <-s.closing: // closing: input is discarded, as the reader does
	default:
		s.handle(s.e.cfg.Now(), ch, data)
	}
}

// Ended implements netcode.Receiver: the teardown the reader would do
// after its last read, on a goroutine of the engine's (it waits for the
// close sequence, which the loop must not).
func (p *pushedSession) Ended(err error) {
	s := (*session)(p)
	s.readFailed(err)
	go func() { // owned by the engine: counted in sessWG since Push
		defer s.e.sessWG.Done()
		s.teardown()
	}()
}

// teardown ends the session once its reading is over: it waits for the
// close sequence, counts the close, tells the services and forgets it.
func (s *session) teardown() {
	close(s.readerDone)
	s.handshake.Stop()
	<-s.finished
	s.e.c.countClose(s.closeCode)
	if s.opened {
		s.e.detach(s) // parks the session, or tells the services it ended
	}
	s.e.removeSession(s)
}

func readErrCode(err error) (netcode.Code, string) {
	var ce *netcode.CloseError
	switch {
	case errors.As(err, &ce):
		return ce.Code, "closed by peer: " + ce.Reason
	case errors.Is(err, netcode.ErrIdleTimeout):
		return netcode.CodeIdleTimeout, "idle timeout"
	case errors.Is(err, netcode.ErrClosed):
		return netcode.CodeOK, "connection closed"
	}
	return netcode.CodeOK, "connection lost: " + err.Error()
}

// handle processes one input frame and reports whether to keep reading.
// It is the engine's whole input path: limits, session kinds, routing.
func (s *session) handle(now time.Time, ch netcode.Channel, data []byte) bool {
	e := s.e
	s.chc.in(ch, len(data)) // the engine's FramesIn sums these (Engine.Stats)
	if s.peer != nil && s.peer.resume && s.authed.Load() && s.peer.conn.Load() != s {
		return false // a Resume moved the session to another connection
	}
	if ch == netcode.Reliable && s.peer != nil && s.peer.resume && s.authed.Load() {
		// A numbered frame is counted before anything else, so that the
		// count a Resume reads is the frames that were (or are being)
		// processed; one read on a connection that a Resume replaced is
		// dropped unprocessed (the client resends it).
		if k, err := frame.Peek(data); err == nil && frame.Numbered(k) && !s.peer.countIn(s) {
			return false
		}
	}
	if len(data) > e.cfg.MaxFrameSize {
		return s.fail(netcode.CodeFrameTooLarge, fmt.Sprintf("frame of %d bytes, limit %d", len(data), e.cfg.MaxFrameSize), refOf(data))
	}
	if s.limiter != nil && !s.limiter.AllowN(now, 1) {
		return s.rateLimited(now, data)
	}
	k, err := frame.Peek(data)
	if err != nil {
		return s.failErr(err, 0)
	}
	if !s.authed.Load() {
		switch k {
		case frame.KindHello:
			return s.hello(now, data)
		case frame.KindResume:
			return s.resume(now, data)
		}
		return s.fail(netcode.CodeNotAuthenticated, "send Hello first", refOf(data))
	}
	switch k {
	case frame.KindHello, frame.KindResume:
		return s.fail(netcode.CodeNotAuthenticated, "already authenticated", 0)
	case frame.KindAck:
		if err := s.dec.Decode(data, &s.ackIn); err != nil {
			return s.failErr(err, 0)
		}
		if !s.peer.resume {
			return true // nothing is kept: nothing to forget
		}
		if err := s.peer.ack(s.ackIn.Received); err != nil {
			return s.failErr(err, 0)
		}
		return true
	case frame.KindPing:
		if err := s.dec.Decode(data, &s.ping); err != nil {
			return s.failErr(err, 0)
		}
		s.pong = frame.Pong{ClientTimeUs: s.ping.ClientTimeUs, ServerTimeUs: now.UnixMicro()}
		s.reply(ch, &s.pong)
		return true
	case frame.KindEcho:
		if err := s.dec.Decode(data, &s.echo); err != nil {
			return s.failErr(err, 0)
		}
		s.queue(s.copyFrame(ch, data))
		return true
	case frame.KindClose:
		s.close(netcode.CodeOK, "closed by client", closeGraceful)
		return false
	}
	svc := e.byKind[k]
	if svc == nil {
		return s.fail(netcode.CodeUnknownKind, fmt.Sprintf("kind %d is not accepted by this server", k), refOf(data))
	}
	if f, ok := svc.(service.ActivityFilter); !ok || f.IsActivity(k) {
		s.peer.lastActivity.Store(now.UnixNano())
	}
	ref, err := svc.HandleFrame(now, s.peer, ch, k, data)
	if err != nil {
		return s.failErr(err, ref)
	}
	return true
}

// rateLimitedAnswers bounds the rate_limited Error frames a flooding
// session is sent per second (the burst is the same): answering every
// dropped frame would let the flood double itself on the way out.
const rateLimitedAnswers = 2

// floodGap is the calm that ends a run of rate-limit refusals: refusals
// less than floodGap apart belong to one run of sustained excess.
const floodGap = time.Second

// rateLimited drops a frame above MaxFramesPerSecond. It is not a bad
// frame: the first refusals of every second are answered with
// rate_limited (carrying the frame's ref), the rest only counted, and a
// session that keeps sending above the rate for RateLimitGrace is closed
// with CodeRateLimited, which may reconnect.
func (s *session) rateLimited(now time.Time, data []byte) bool {
	e := s.e
	e.c.drops[dropRateLimited].Add(1)
	if s.floodFrom.IsZero() || now.Sub(s.floodLast) >= floodGap {
		s.floodFrom = now
	}
	s.floodLast = now
	if g := e.cfg.RateLimitGrace; g > 0 && now.Sub(s.floodFrom) >= g {
		msg := fmt.Sprintf("above %d frames per second for %v", e.cfg.MaxFramesPerSecond, g)
		s.sendError(netcode.CodeRateLimited, msg, 0)
		s.close(netcode.CodeRateLimited, msg, closeGraceful)
		return false
	}
	if s.answers == nil { // most sessions never flood: no limiter until one does
		s.answers = rate.NewLimiter(rateLimitedAnswers, rateLimitedAnswers)
	}
	if s.answers.AllowN(now, 1) {
		s.sendError(netcode.CodeRateLimited, "frame dropped: above the frame rate", refOf(data))
	}
	return true
}

// refOf is the request ref of a service frame refused before it reached
// its service, so that the client's pending call gets the Error (0 when
// there is none). Only error paths call it.
func refOf(data []byte) uint32 {
	k, ref, err := frame.PeekRef(data)
	if err != nil || k < frame.FirstServiceKind {
		return 0
	}
	return ref
}

// hello authenticates the session or rejects it.
func (s *session) hello(now time.Time, data []byte) bool {
	e := s.e
	var h frame.Hello
	if err := s.dec.Decode(data, &h); err != nil {
		return s.failErr(err, 0)
	}
	if h.Version != frame.ProtocolVersion {
		return s.reject(netcode.CodeProtocolVersion, fmt.Sprintf("protocol version %d not supported, server speaks %d", h.Version, frame.ProtocolVersion))
	}
	if e.draining.Load() {
		e.c.refused[refusedDraining].Add(1)
		return s.reject(netcode.CodeDraining, "the server is draining: reconnect elsewhere")
	}
	claims, err := e.signer.Verify(h.Token, now)
	if err != nil {
		return s.reject(netcode.CodeOf(err), codedMessage(err))
	}
	if e.cfg.TokenCheck != nil {
		ctx, cancel := context.WithTimeout(e.baseCtx, e.cfg.HandshakeTimeout)
		err := e.cfg.TokenCheck(ctx, claims)
		cancel()
		if err != nil {
			code := netcode.CodeOf(err)
			if code == netcode.CodeOK {
				code = netcode.CodeBadToken
			}
			return s.reject(code, codedMessage(err))
		}
	}
	s.userID, s.name, s.guest = claims.UserID, claims.Name, claims.Guest
	if s.name == "" {
		s.name = claims.UserID
	}
	s.handshake.Stop()
	e.c.handshakes.Add(1)
	// Welcome is queued first but held until every service has seen
	// PeerOpened: a client that acts on Welcome finds itself known to
	// every service (a friend's push cannot fall into the gap). Without a
	// writer the queue leaves direct mode meanwhile.
	s.holding.Store(true)
	s.q.hold()
	p, secret := e.openPeer(s, h.Resume)
	s.peer = p
	var window uint32
	if p.resume {
		window = uint32(e.cfg.ResumeWindow / time.Millisecond)
	}
	s.reply(netcode.Reliable, &frame.Welcome{
		SessionID:       s.id,
		UserID:          s.userID,
		DisplayName:     s.name,
		ServerTimeUs:    now.UnixMicro(),
		MaxFrame:        uint32(e.cfg.MaxFrameSize),
		MaxFramesPerSec: uint32(max(e.cfg.MaxFramesPerSecond, 0)),
		HeartbeatMs:     uint32(e.cfg.HeartbeatInterval / time.Millisecond),
		IdleTimeoutMs:   uint32(e.cfg.IdleTimeout / time.Millisecond),
		ResumeID:        secret,
		ResumeWindowMs:  window,
	})
	s.authed.Store(true)
	for _, svc := range e.cfg.Services {
		svc.PeerOpened(p)
	}
	s.opened = true
	s.holding.Store(false)
	if s.wake == nil {
		s.goDirect()
	} else {
		s.wakeWriter()
	}
	// Later log lines of the session name the client program too.
	s.log = s.log.With("user", s.userID, "client", h.ClientName, "client_version", h.ClientVersion)
	s.log.Debug("session opened", "guest", s.guest)
	return true
}

// reject answers a failed Hello with an Error and closes the session.
func (s *session) reject(code netcode.Code, msg string) bool {
	s.sendError(code, msg, 0)
	s.close(code, msg, closeGraceful)
	return false
}

// isInputCode reports whether code blames the peer's input (and so counts
// towards MaxBadFrames) rather than an ordinary domain outcome.
func isInputCode(code netcode.Code) bool {
	switch code {
	case netcode.CodeBadFrame, netcode.CodeFrameTooLarge, netcode.CodeUnknownKind,
		netcode.CodeNotAuthenticated:
		return true
	}
	return false
}

// failErr answers err with an Error frame carrying its code.
func (s *session) failErr(err error, ref uint32) bool {
	code := netcode.CodeOf(err)
	msg := codedMessage(err)
	if code == netcode.CodeInternal {
		s.log.Warn("service error", "err", err)
		msg = "internal error"
	}
	return s.fail(code, msg, ref)
}

// fail sends an Error frame; input errors count towards MaxBadFrames and
// close the session when they reach it.
func (s *session) fail(code netcode.Code, msg string, ref uint32) bool {
	s.sendError(code, msg, ref)
	if !isInputCode(code) {
		return true
	}
	s.bad++
	if s.bad >= s.e.cfg.MaxBadFrames {
		s.close(netcode.CodeTooManyErrors, fmt.Sprintf("%d bad frames", s.bad), closeGraceful)
		return false
	}
	return true
}

func (s *session) sendError(code netcode.Code, msg string, ref uint32) {
	s.e.c.countError(code)
	f := frame.Error{Code: code, Message: netcode.TruncateUTF8(msg, frame.MaxMessageLen), Ref: ref}
	if s.authed.Load() && s.peer.resume {
		// A numbered frame: through the peer, in its own buffer (the
		// replay buffer keeps it; pooled buffers are reused).
		if b, err := frame.Marshal(&f); err == nil {
			s.peer.Send(netcode.Reliable, b)
		}
		return
	}
	s.reply(netcode.Reliable, &f)
}

// codedMessage is the client-facing text of err: a CodedError's message
// without the code name (the code travels beside it).
func codedMessage(err error) string {
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		return ce.Msg
	}
	return err.Error()
}

// reply encodes f with the reader's encoder into a pooled buffer and
// queues it; the reader flushes after the message it is handling.
func (s *session) reply(ch netcode.Channel, f frame.Frame) {
	b, err := s.enc.Encode(f)
	if err != nil {
		s.log.Error("encoding a reply", "kind", f.Kind(), "err", err)
		return
	}
	s.queue(s.copyFrame(ch, b))
}

// copyFrame copies b into a pooled buffer.
func (s *session) copyFrame(ch netcode.Channel, b []byte) outFrame {
	buf := s.e.getBuf(len(b))
	copy(*buf, b)
	return outFrame{ch: ch, b: *buf, buf: buf}
}
