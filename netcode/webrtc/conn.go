package webrtc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/sctp"
	pion "github.com/pion/webrtc/v4"

	"github.com/tickwire/tickwire/netcode"
)

// transportName is what Transport, Conn and Stats report.
const transportName = "webrtc"

var _ netcode.Conn = (*Conn)(nil)

// Conn is one WebRTC session: a PeerConnection with two negotiated data
// channels. See the package doc for the concurrency contract.
type Conn struct {
	pc             *pion.PeerConnection
	relDC, unrelDC *pion.DataChannel
	cfg            Config
	log            *slog.Logger
	local, remote  net.Addr

	openMu     sync.Mutex // guards rel, unrel and nOpen (set by pion's OnOpen callbacks)
	rel, unrel datachannel.ReadWriteCloser
	nOpen      int
	opened     chan struct{} // closed once both channels are detached

	mu          sync.Mutex  // guards cause and the close fields below; closes killed
	cause       error       // what ReadMessage reports once closed
	sendClose   closeNotice // whether teardown sends a close message
	closeCode   netcode.Code
	closeReason string
	closed      atomic.Bool   // set with cause
	killed      chan struct{} // closed with cause: the lifecycle goroutine tears down

	peerDone chan struct{}  // closed by the reliable reader when the peer sent its close or ended the association
	done     chan struct{}  // closed by teardown: wakes readers, ReadMessage and writers
	shutDone chan struct{}  // closed when teardown has finished
	readers  sync.WaitGroup // the two channel readers

	// Reliable hand-off: the reliable reader sends a slice of its own
	// buffer on relIn and waits for relFree before reading again.
	relIn   chan []byte
	relFree chan struct{} // capacity 1
	holdRel bool          // owned by the ReadMessage goroutine

	umu     sync.Mutex // guards uq
	uq      unreliableQueue
	uNotify chan struct{} // capacity 1: coalesced "uq has a message"
	uOut    []byte        // owned by the ReadMessage goroutine: the last unreliable message returned

	wmu    sync.Mutex // guards useq and ubuf
	useq   uint32
	ubuf   []byte
	relLow chan struct{} // capacity 1: the reliable send buffer drained

	ctr netcode.Counters // what Stats reports

	// ready is called by the lifecycle goroutine once both channels are
	// open (the listener hands the Conn to Accept); an error closes it.
	ready func(*Conn) error
	// released is called once at the end of teardown.
	released func(*Conn)
}

// newConn wires a Conn to pc, whose two negotiated channels are relDC and
// unrelDC, and starts its lifecycle goroutine; wg (if not nil) counts it.
func newConn(pc *pion.PeerConnection, relDC, unrelDC *pion.DataChannel, cfg Config, local, remote net.Addr,
	ready func(*Conn) error, released func(*Conn), wg *sync.WaitGroup) *Conn {
	c := &Conn{
		pc: pc, relDC: relDC, unrelDC: unrelDC, cfg: cfg, log: cfg.Logger, local: local, remote: remote,
		opened:   make(chan struct{}),
		killed:   make(chan struct{}),
		peerDone: make(chan struct{}),
		done:     make(chan struct{}),
		shutDone: make(chan struct{}),
		relIn:    make(chan []byte),
		relFree:  make(chan struct{}, 1),
		uNotify:  make(chan struct{}, 1),
		relLow:   make(chan struct{}, 1),
		uq:       unreliableQueue{slots: make([][]byte, cfg.UnreliableQueue)},
		ready:    ready,
		released: released,
	}
	relDC.OnOpen(func() { c.channelOpen(relDC, &c.rel) })
	unrelDC.OnOpen(func() { c.channelOpen(unrelDC, &c.unrel) })
	relDC.SetBufferedAmountLowThreshold(uint64(cfg.MaxBuffered / 2))
	relDC.OnBufferedAmountLow(func() { signal(c.relLow) })
	pc.OnICEConnectionStateChange(func(s pion.ICEConnectionState) {
		if s != pion.ICEConnectionStateFailed {
			return
		}
		if c.isOpen() { // no close message: pion sends nothing once ICE has failed
			c.fail(&netcode.CodedError{Code: netcode.CodeIdleTimeout,
				Msg: fmt.Sprintf("webrtc: nothing received for %v", cfg.IdleTimeout), Err: netcode.ErrIdleTimeout},
				silent, 0, "")
			return
		}
		c.fail(fmt.Errorf("%w: webrtc: ICE failed", netcode.ErrHandshake), silent, 0, "")
	})
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateFailed && !c.isOpen() {
			c.fail(fmt.Errorf("%w: webrtc: connection failed", netcode.ErrHandshake), silent, 0, "")
		}
	})
	pc.OnDataChannel(func(dc *pion.DataChannel) {
		// Only the two negotiated channels exist; a peer that opens more
		// is breaking the protocol (and each channel costs memory).
		c.ctr.Drops[netcode.DropMalformed].Add(1)
		c.fail(netcode.Errorf(netcode.CodeBadRequest, "webrtc: unexpected data channel %q", dc.Label()),
			tellPeer, netcode.CodeBadRequest, "unexpected data channel")
	})
	if wg != nil {
		wg.Add(1)
	}
	go c.run(wg)
	return c
}

// signal is a coalesced wakeup.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// channelOpen runs in pion's OnOpen callback: it detaches dc into *dst.
func (c *Conn) channelOpen(dc *pion.DataChannel, dst *datachannel.ReadWriteCloser) {
	rw, err := dc.Detach()
	if err != nil {
		c.fail(fmt.Errorf("%w: webrtc: detach %s: %w", netcode.ErrHandshake, dc.Label(), err), silent, 0, "")
		return
	}
	c.openMu.Lock()
	defer c.openMu.Unlock()
	*dst = rw
	c.nOpen++
	if c.nOpen == 2 {
		close(c.opened)
	}
}

func (c *Conn) isOpen() bool {
	select {
	case <-c.opened:
		return true
	default:
		return false
	}
}

// run is the Conn's lifecycle goroutine, the one owner of its teardown:
// it waits for both channels (or the connect timeout), starts the
// readers, hands the Conn on, and tears everything down once killed.
func (c *Conn) run(wg *sync.WaitGroup) {
	if wg != nil {
		defer wg.Done()
	}
	t := time.NewTimer(c.cfg.ConnectTimeout)
	select {
	case <-c.opened:
		t.Stop()
		c.openMu.Lock() // pairs with channelOpen: rel and unrel are set
		c.openMu.Unlock()
		c.readers.Add(2)
		go c.readReliable()
		go c.readUnreliable()
		if c.ready != nil {
			if err := c.ready(c); err != nil {
				code := netcode.CodeOf(err)
				c.fail(err, tellPeer, code, err.Error())
			}
		}
	case <-c.killed:
		t.Stop()
	case <-t.C:
		c.fail(fmt.Errorf("%w: %w after %v", netcode.ErrHandshake, ErrConnectTimeout, c.cfg.ConnectTimeout), silent, 0, "")
	}
	<-c.killed
	c.teardown()
}

// closeNotice says whether fail's teardown sends the peer a close message.
type closeNotice uint8

const (
	silent   closeNotice = iota // the peer closed or the connection failed: nothing to send
	tellPeer                    // send a close message first, if the channel is open
)

// fail records the first cause and wakes the lifecycle goroutine. When
// send is tellPeer, teardown tells the peer code and reason first. Safe
// from any goroutine, pion's callbacks included; never blocks.
func (c *Conn) fail(cause error, send closeNotice, code netcode.Code, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause != nil {
		return
	}
	c.cause, c.sendClose, c.closeCode, c.closeReason = cause, send, code, reason
	c.closed.Store(true)
	close(c.killed)
}

func (c *Conn) readCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// teardown sends the close message (if asked and possible), closes the
// PeerConnection, waits for the readers and pion's goroutines, and
// releases the Conn's slot. It runs once, on the lifecycle goroutine.
func (c *Conn) teardown() {
	c.mu.Lock()
	send, code, reason := c.sendClose, c.closeCode, c.closeReason
	cause := c.cause
	c.mu.Unlock()
	if send == tellPeer && c.isOpen() {
		c.sendCloseMessage(code, reason)
	}
	close(c.done)
	if err := c.pc.GracefulClose(); err != nil {
		c.log.Debug("webrtc: close peer connection", "remote", c.remote, "err", err)
	}
	c.readers.Wait()
	if c.released != nil {
		c.released(c)
	}
	close(c.shutDone)
	c.log.Debug("webrtc: closed", "remote", c.remote, "cause", cause)
}

// sendCloseMessage writes the close control message on the reliable
// channel and waits, at most closeFlushTimeout, until the peer has
// acknowledged everything sent on it or has ended the association (a
// peer that reads the close message closes at once; SCTP's delayed
// acknowledgement alone would take 200 ms).
func (c *Conn) sendCloseMessage(code netcode.Code, reason string) {
	msg := encodeClose(code, reason)
	c.relDC.SetBufferedAmountLowThreshold(0)
	n, err := c.rel.WriteDataChannel(msg, true)
	if err != nil {
		c.log.Debug("webrtc: close message not sent", "remote", c.remote, "err", err)
		return
	}
	c.ctr.BytesSent.Add(uint64(n))
	t := time.NewTimer(closeFlushTimeout)
	defer t.Stop()
	for c.relDC.BufferedAmount() > 0 {
		select {
		case <-c.relLow:
		case <-c.peerDone:
			return
		case <-t.C:
			c.log.Debug("webrtc: close message not acknowledged in time", "remote", c.remote)
			return
		}
	}
}

// readReliable reads the reliable channel into its own buffer and hands
// each message to ReadMessage, waiting until it is released. A text
// message is a control message (close).
func (c *Conn) readReliable() {
	defer c.readers.Done()
	var buf []byte
	for {
		n, isText, err := readGrowing(c.rel, &buf, c.cfg.MaxMessageSize)
		if err != nil {
			if !errors.Is(err, io.ErrShortBuffer) {
				close(c.peerDone)
			}
			c.readFailed(err)
			return
		}
		c.ctr.BytesRecv.Add(uint64(n))
		if isText {
			code, reason, err := decodeClose(buf[:n])
			if err != nil {
				c.ctr.Drops[netcode.DropMalformed].Add(1)
				continue
			}
			close(c.peerDone)
			c.fail(&netcode.CloseError{Code: code, Reason: reason}, silent, 0, "")
			return
		}
		c.ctr.MsgsRecv.Add(1)
		select {
		case c.relIn <- buf[:n]:
		case <-c.done:
			return
		}
		select {
		case <-c.relFree:
		case <-c.done:
			return
		}
	}
}

// initialReadBuffer is a reader's first buffer: an idle session holds
// two of these, not two of MaxMessageSize.
const initialReadBuffer = 2 << 10

// readGrowing reads one message into *buf, doubling it (up to limit)
// while the message does not fit: SCTP keeps a message that did not fit
// queued, so the next read gets it again. io.ErrShortBuffer from a buffer
// of limit bytes means the message is above the limit.
func readGrowing(rw datachannel.ReadWriteCloser, buf *[]byte, limit int) (int, bool, error) {
	if *buf == nil {
		*buf = make([]byte, min(initialReadBuffer, limit))
	}
	for {
		n, isText, err := rw.ReadDataChannel(*buf)
		if errors.Is(err, io.ErrShortBuffer) && len(*buf) < limit {
			*buf = make([]byte, min(2*len(*buf), limit))
			continue
		}
		return n, isText, err
	}
}

// readFailed turns a channel read error into the Conn's cause.
func (c *Conn) readFailed(err error) {
	if errors.Is(err, io.ErrShortBuffer) {
		// SCTP keeps the message queued: the Conn cannot go on.
		c.ctr.Drops[netcode.DropTooLarge].Add(1)
		c.fail(netcode.Errorf(netcode.CodeFrameTooLarge, "webrtc: message above %d bytes", c.cfg.MaxMessageSize),
			tellPeer, netcode.CodeFrameTooLarge, "message too large")
		return
	}
	c.fail(fmt.Errorf("%w: webrtc: %w", netcode.ErrClosed, err), silent, 0, "")
}

// readUnreliable reads the unreliable channel and queues fresh messages.
func (c *Conn) readUnreliable() {
	defer c.readers.Done()
	var buf []byte
	for {
		n, isText, err := readGrowing(c.unrel, &buf, c.cfg.MaxMessageSize+unreliableHeader)
		if err != nil {
			if errors.Is(err, io.ErrShortBuffer) {
				c.readFailed(err)
				return
			}
			// The association is going away (the reliable reader will
			// say why: a close message may still be queued there) or the
			// peer closed this channel alone; the latter is a dead Conn.
			t := time.NewTimer(unreliableGrace)
			defer t.Stop()
			select {
			case <-c.done:
			case <-t.C:
				c.readFailed(err)
			}
			return
		}
		c.ctr.BytesRecv.Add(uint64(n))
		seq, msg, ok := decodeUnreliable(buf[:n])
		if isText || !ok {
			c.ctr.Drops[netcode.DropMalformed].Add(1)
			continue
		}
		c.ctr.MsgsRecv.Add(1)
		c.umu.Lock()
		reason, dropped := c.uq.push(seq, msg)
		c.umu.Unlock()
		if dropped {
			c.ctr.Drops[reason].Add(1)
		}
		if reason != netcode.DropStale {
			signal(c.uNotify)
		}
	}
}

// ReadMessage returns the next message from either channel; the bytes
// are valid until the next call. Errors: *netcode.CloseError after the
// peer's close message; netcode.ErrClosed after a local Close or when
// the association ends without a close message; an error matching
// netcode.ErrIdleTimeout when ICE heard nothing for IdleTimeout; a
// *netcode.CodedError for a message above the limit (frame_too_large).
func (c *Conn) ReadMessage() (netcode.Channel, []byte, error) {
	if c.holdRel {
		c.holdRel = false
		signal(c.relFree)
	}
	for {
		if c.closed.Load() {
			return 0, nil, c.readCause()
		}
		select { // reliable first, so that an unreliable flood cannot starve it
		case b := <-c.relIn:
			c.holdRel = true
			return netcode.Reliable, b, nil
		default:
		}
		c.umu.Lock()
		msg, ok := c.uq.pop(c.uOut)
		c.umu.Unlock()
		if ok {
			c.uOut = msg
			return netcode.Unreliable, msg, nil
		}
		select {
		case b := <-c.relIn:
			c.holdRel = true
			return netcode.Reliable, b, nil
		case <-c.uNotify:
		case <-c.done:
		}
	}
}

// WriteMessage sends one message; it does not retain p. A reliable write
// waits while more than MaxBuffered bytes are unacknowledged, at most
// WriteTimeout (then an error matching netcode.ErrWriteTimeout, code
// slow_consumer). An unreliable write never waits: above
// MaxUnreliableBuffered the message is dropped (queue_full) and nil is
// returned, as for a message lost on the way.
func (c *Conn) WriteMessage(ch netcode.Channel, p []byte) error {
	if !ch.Valid() {
		return netcode.ErrBadChannel
	}
	if len(p) > c.cfg.MaxMessageSize {
		c.ctr.Drops[netcode.DropTooLarge].Add(1)
		return fmt.Errorf("%w: %d bytes, limit %d", netcode.ErrMessageTooLarge, len(p), c.cfg.MaxMessageSize)
	}
	if c.closed.Load() {
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	var err error
	if ch == netcode.Reliable {
		if err = c.waitBuffered(); err != nil {
			return err
		}
		_, err = c.rel.Write(p)
	} else {
		if c.unrelDC.BufferedAmount() > uint64(c.cfg.MaxUnreliableBuffered) {
			c.ctr.Drops[netcode.DropQueueFull].Add(1)
			return nil
		}
		c.wmu.Lock()
		c.ubuf = appendUnreliable(c.ubuf[:0], c.useq, p)
		c.useq++
		_, err = c.unrel.Write(c.ubuf)
		c.wmu.Unlock()
	}
	if err != nil {
		return c.writeFailed(err)
	}
	c.ctr.MsgsSent.Add(1)
	c.ctr.BytesSent.Add(uint64(len(p)))
	return nil
}

// waitBuffered waits until the reliable send buffer is at most
// MaxBuffered bytes.
func (c *Conn) waitBuffered() error {
	var t *time.Timer
	for c.relDC.BufferedAmount() > uint64(c.cfg.MaxBuffered) {
		if t == nil {
			t = time.NewTimer(c.cfg.WriteTimeout)
			defer t.Stop()
		}
		select {
		case <-c.relLow:
		case <-t.C:
			return &netcode.CodedError{Code: netcode.CodeSlowConsumer,
				Msg: fmt.Sprintf("webrtc: send buffer above %d bytes for %v", c.cfg.MaxBuffered, c.cfg.WriteTimeout),
				Err: netcode.ErrWriteTimeout}
		case <-c.done:
			c.ctr.Drops[netcode.DropClosed].Add(1)
			return netcode.ErrClosed
		}
	}
	return nil
}

func (c *Conn) writeFailed(err error) error {
	switch {
	case errors.Is(err, sctp.ErrOutboundPacketTooLarge):
		// The peer advertised a smaller max-message-size than ours.
		c.ctr.Drops[netcode.DropTooLarge].Add(1)
		return fmt.Errorf("%w: above the peer's limit: %w", netcode.ErrMessageTooLarge, err)
	case c.closed.Load():
		c.ctr.Drops[netcode.DropClosed].Add(1)
		return netcode.ErrClosed
	}
	return fmt.Errorf("%w: webrtc: write: %w", netcode.ErrClosed, err)
}

// Close sends a close message carrying code and reason on the reliable
// channel (best effort: it waits at most 250 ms for the peer's
// acknowledgement), closes the PeerConnection and waits for its
// goroutines. Idempotent: later calls return nil.
func (c *Conn) Close(code netcode.Code, reason string) error {
	c.fail(netcode.ErrClosed, tellPeer, code, reason)
	<-c.shutDone
	return nil
}

// Stats returns a snapshot of the counters. Bytes are data-channel
// message bytes (the unreliable header and close messages included; SCTP,
// DTLS and UDP headers are not). RTT is the SCTP association's smoothed
// round-trip time (from its acknowledgements and heartbeats), 0 before
// the first sample.
func (c *Conn) Stats() netcode.Stats {
	st := c.ctr.Snapshot(transportName)
	if t := c.pc.SCTP(); t != nil {
		st.RTT = time.Duration(t.Stats().SmoothedRoundTripTime * float64(time.Second))
	}
	return st
}

// Transport returns "webrtc".
func (c *Conn) Transport() string { return transportName }

// LocalAddr is the UDP address of the listener's port (server side) or
// the HTTP signaling server (client side).
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the client's address as the HTTP signaling request
// showed it (server side; the trusted-proxy rule applies), or the
// signaling server's (client side).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// unreliableQueue keeps the freshest unreliable messages: a message not
// newer than the newest accepted is stale; a full queue drops its oldest.
// Slots keep their buffers, so a steady stream allocates nothing.
type unreliableQueue struct {
	slots   [][]byte
	head, n int
	last    uint32
	seen    bool
}

// push copies msg into the queue. It reports a drop and its reason:
// DropStale (msg not queued) or DropQueueFull (the oldest went).
func (q *unreliableQueue) push(seq uint32, msg []byte) (netcode.DropReason, bool) {
	if q.seen && !seqNewer(seq, q.last) {
		return netcode.DropStale, true
	}
	q.seen, q.last = true, seq
	if len(q.slots) == 0 {
		return netcode.DropQueueFull, true
	}
	reason := netcode.NumDropReasons
	dropped := false
	if q.n == len(q.slots) {
		q.head = (q.head + 1) % len(q.slots)
		q.n--
		reason, dropped = netcode.DropQueueFull, true
	}
	i := (q.head + q.n) % len(q.slots)
	q.slots[i] = append(q.slots[i][:0], msg...)
	q.n++
	return reason, dropped
}

// pop returns the oldest queued message and leaves spare (a buffer the
// caller is done with) in its slot.
func (q *unreliableQueue) pop(spare []byte) ([]byte, bool) {
	if q.n == 0 {
		return nil, false
	}
	msg := q.slots[q.head]
	q.slots[q.head] = spare[:0]
	q.head = (q.head + 1) % len(q.slots)
	q.n--
	return msg, true
}
