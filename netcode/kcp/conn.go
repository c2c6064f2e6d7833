package kcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode"
)

// Conn is one KCP session: a reliable-ordered channel (kcp-go with
// length-prefixed messages) and an unreliable channel (sequenced
// datagrams, newest wins) over the endpoint's socket.
type Conn struct {
	ep     *endpoint
	cfg    *config
	kcp    *kcpgo.UDPSession
	pc     *sessionPC
	remote net.Addr
	token  uint64
	conv   uint32

	// server side: the handshake that created the session
	nonce     [8]byte
	acceptMsg handshake
	addrKey   string
	ipKey     string

	wake      chan struct{} // capacity 1: data or an end may be ready
	done      chan struct{} // closed when the session ends
	closeOnce sync.Once

	pn       atomic.Uint32 // next packet number minus one
	useq     atomic.Uint32 // last unreliable sequence number sent
	lastRecv atomic.Int64  // endpoint nanos of the last datagram heard
	lastSent atomic.Int64  // endpoint nanos of the last datagram sent

	mu         sync.Mutex // guards the fields below
	termErr    error      // why the session ended; nil while open
	rx         rxCounter
	red        *redundancy
	lastReport int64
	rxSince    uint32 // datagrams heard since the last report
	maxSN      uint32
	snStarted  bool
	minRTT     time.Duration // least smoothed RTT seen; -1 before the first
	uq         [][]byte      // ring of unreliable messages (drop oldest)
	uqHead     int
	uqLen      int
	uqNewest   uint32
	uqStarted  bool

	// owned by the ReadMessage goroutine
	rbuf   []byte
	rstart int
	rend   int
	out    []byte

	writeMu sync.Mutex // serializes reliable writers; guards wbufs and wbuf
	wbufs   [1][]byte
	wbuf    []byte // prefix and message, contiguous: one KCP segment when it fits the MSS

	bytesSent, bytesRecv       atomic.Uint64
	messagesSent, messagesRecv atomic.Uint64
	retransmits                atomic.Uint64
	redundantBytes             atomic.Uint64
	drops                      [netcode.NumDropReasons]atomic.Uint64
}

var (
	_ netcode.Conn     = (*Conn)(nil)
	_ netcode.Listener = (*Listener)(nil)
)

func newConn(e *endpoint, remote net.Addr, conv uint32, token uint64, ds, ps int, now time.Time) (*Conn, error) {
	c := &Conn{
		ep:     e,
		cfg:    e.cfg,
		remote: remote,
		token:  token,
		conv:   conv,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		red:    newRedundancy(e.cfg.Redundancy),
		uq:     make([][]byte, e.cfg.UnreliableQueue),
		rbuf:   make([]byte, 4096),
	}
	c.pn.Store(^uint32(0))
	c.lastRecv.Store(e.nanos(now))
	c.lastSent.Store(e.nanos(now))
	c.lastReport = e.nanos(now)
	c.minRTT = -1
	c.pc = &sessionPC{c: c, fec: ps > 0}
	s, err := kcpSession(c, conv, ds, ps)
	if err != nil {
		return nil, err
	}
	c.kcp = s
	s.SetReadNotify(c.signal)
	return c, nil
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Transport implements netcode.Conn.
func (c *Conn) Transport() string { return "kcp" }

// LocalAddr implements netcode.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.ep.pc.LocalAddr() }

// RemoteAddr implements netcode.Conn.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Stats implements netcode.Conn.
func (c *Conn) Stats() netcode.Stats {
	st := netcode.Stats{
		Transport:      "kcp",
		RTT:            time.Duration(c.kcp.GetSRTT()) * time.Millisecond,
		BytesSent:      c.bytesSent.Load(),
		BytesRecv:      c.bytesRecv.Load(),
		MessagesSent:   c.messagesSent.Load(),
		MessagesRecv:   c.messagesRecv.Load(),
		Retransmits:    c.retransmits.Load(),
		RedundantBytes: c.redundantBytes.Load(),
	}
	for i := range st.Drops {
		st.Drops[i] = c.drops[i].Load()
	}
	now := time.Now()
	c.mu.Lock()
	st.LossRate = c.red.loss
	st.Redundancy = c.red.copies(now)
	c.mu.Unlock()
	return st
}

// ReadMessage implements netcode.Conn. Reliable messages already received
// are delivered before the unreliable queue, and before the error of a
// peer close or an idle timeout.
func (c *Conn) ReadMessage() (netcode.Channel, []byte, error) {
	for {
		c.mu.Lock()
		term := c.termErr
		c.mu.Unlock()
		if errors.Is(term, netcode.ErrClosed) { // closed locally: nothing more
			return 0, nil, term
		}
		msg, ok, err := c.nextReliable()
		if err != nil {
			code := netcode.CodeBadFrame
			if errors.Is(err, netcode.ErrMessageTooLarge) {
				code = netcode.CodeFrameTooLarge
			}
			c.finish(&netcode.CodedError{Code: code, Msg: "reliable stream", Err: err}, &control{Type: ctlClose, Code: code, Reason: "bad reliable stream"})
			c.drop(netcode.DropMalformed)
			return 0, nil, err
		}
		if ok {
			c.messagesRecv.Add(1)
			return netcode.Reliable, msg, nil
		}
		if msg, ok := c.popUnreliable(); ok {
			c.messagesRecv.Add(1)
			return netcode.Unreliable, msg, nil
		}
		if term != nil {
			return 0, nil, term
		}
		select {
		case <-c.wake:
		case <-c.done:
		}
	}
}

// nextReliable returns the next complete message of the reliable stream,
// reading what kcp-go has ready.
func (c *Conn) nextReliable() ([]byte, bool, error) {
	limit := c.cfg.MaxMessageSize
	for {
		msg, n, err := nextMessage(c.rbuf[c.rstart:c.rend], limit)
		if err != nil {
			return nil, false, err
		}
		if n > 0 {
			c.rstart += n
			return msg, true, nil
		}
		if c.rstart > 0 {
			c.rend = copy(c.rbuf, c.rbuf[c.rstart:c.rend])
			c.rstart = 0
		}
		if c.rend == len(c.rbuf) { // a message larger than the buffer: grow, within the limit
			grow := min(len(c.rbuf), limit+maxPrefix-len(c.rbuf))
			if grow <= 0 { // cannot happen: nextMessage rejects longer prefixes
				return nil, false, malformed("reliable message exceeds its buffer")
			}
			c.rbuf = append(c.rbuf, make([]byte, grow)...)
		}
		k, _ := c.kcp.TryRead(c.rbuf[c.rend:])
		if k == 0 {
			return nil, false, nil
		}
		c.rend += k
	}
}

func (c *Conn) popUnreliable() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uqLen == 0 {
		return nil, false
	}
	c.out = append(c.out[:0], c.uq[c.uqHead]...)
	c.uqHead = (c.uqHead + 1) % len(c.uq)
	c.uqLen--
	return c.out, true
}

func (c *Conn) drop(r netcode.DropReason) { c.drops[r].Add(1) }

// maxUnreliable is the largest unreliable message: one datagram.
func (c *Conn) maxUnreliable() int {
	return min(c.cfg.MaxMessageSize, c.cfg.tune.mtu-unreliableHeader)
}

// WriteMessage implements netcode.Conn. Unreliable messages must fit one
// datagram (MTU minus 17 bytes of header).
func (c *Conn) WriteMessage(ch netcode.Channel, p []byte) error {
	if !ch.Valid() {
		return fmt.Errorf("kcp: channel %d: %w", ch, netcode.ErrBadChannel)
	}
	if err := c.err(); err != nil {
		c.drop(netcode.DropClosed)
		return err
	}
	if ch == netcode.Unreliable {
		if len(p) > c.maxUnreliable() {
			return fmt.Errorf("kcp: unreliable message of %d bytes, limit %d: %w", len(p), c.maxUnreliable(), netcode.ErrMessageTooLarge)
		}
		buf := getBuf()
		b := append((*buf)[:sessionHeaderSize], 0, 0, 0, 0)
		binary.BigEndian.PutUint32(b[sessionHeaderSize:], c.useq.Add(1))
		b = append(b, p...)
		err := c.send(typeUnreliable, b)
		putBuf(buf, b)
		if err != nil {
			return fmt.Errorf("kcp: unreliable write: %w", err)
		}
		c.messagesSent.Add(1)
		return nil
	}
	if len(p) > c.cfg.MaxMessageSize {
		return fmt.Errorf("kcp: message of %d bytes, limit %d: %w", len(p), c.cfg.MaxMessageSize, netcode.ErrMessageTooLarge)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// kcp-go makes one segment per buffer it is given: the prefix and the
	// message go as one buffer, so a small message costs one segment (one
	// header, one sn, one ACK entry) instead of two.
	c.wbuf = append(appendPrefix(c.wbuf[:0], len(p)), p...)
	if err := c.writeReliable(); err != nil {
		return err
	}
	c.messagesSent.Add(1)
	return nil
}

// WriteMessages writes several messages on one channel. Reliable messages
// are queued to KCP together and flushed once, so small messages share
// datagrams (and the peer acknowledges them together) instead of costing
// one datagram each; unreliable messages are one datagram each, as with
// WriteMessage. Every size is checked first: a message above the limit
// fails the call (netcode.ErrMessageTooLarge) before anything is sent.
// The engine's session writer uses it for frames queued together.
func (c *Conn) WriteMessages(ch netcode.Channel, msgs [][]byte) error {
	if !ch.Valid() {
		return fmt.Errorf("kcp: channel %d: %w", ch, netcode.ErrBadChannel)
	}
	limit := c.cfg.MaxMessageSize
	if ch == netcode.Unreliable {
		limit = c.maxUnreliable()
	}
	for _, p := range msgs {
		if len(p) > limit {
			return fmt.Errorf("kcp: message of %d bytes, limit %d: %w", len(p), limit, netcode.ErrMessageTooLarge)
		}
	}
	if ch == netcode.Unreliable {
		for _, p := range msgs {
			if err := c.WriteMessage(ch, p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.err(); err != nil {
		c.drop(netcode.DropClosed)
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.wbuf = c.wbuf[:0]
	for _, p := range msgs {
		c.wbuf = append(appendPrefix(c.wbuf, len(p)), p...)
	}
	if err := c.writeReliable(); err != nil {
		return err
	}
	c.messagesSent.Add(uint64(len(msgs)))
	return nil
}

// writeReliable hands c.wbuf (prefixed messages) to kcp-go, which splits
// it into MSS-sized segments and flushes once. Called with writeMu held.
func (c *Conn) writeReliable() error {
	c.wbufs[0] = c.wbuf
	_ = c.kcp.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)) // kcp-go's SetWriteDeadline always returns nil
	_, err := c.kcp.WriteBuffers(c.wbufs[:])
	c.wbufs[0] = nil
	if cap(c.wbuf) > wbufKeep { // do not keep a rare large message's buffer
		c.wbuf = nil
	}
	if err != nil {
		if terr := c.err(); terr != nil {
			return terr
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("kcp: send window full for %v: %w", c.cfg.WriteTimeout, netcode.ErrWriteTimeout)
		}
		if errors.Is(err, io.ErrClosedPipe) {
			return netcode.ErrClosed
		}
		return fmt.Errorf("kcp: write: %w", err)
	}
	return nil
}

func (c *Conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.termErr
}

// Close implements netcode.Conn: it sends a Close datagram carrying code
// and reason three times (it is unreliable), ends the session and, for a
// dialed Conn, closes the socket and waits for its goroutines.
func (c *Conn) Close(code netcode.Code, reason string) error {
	c.finish(netcode.ErrClosed, &control{Type: ctlClose, Code: code, Reason: reason})
	if c.ep.role != roleServer {
		c.ep.shutdown()
		c.ep.wait()
	}
	return nil
}

// wbufKeep is the largest write buffer a Conn keeps between messages.
const wbufKeep = 16 << 10

// closeRepeats is how many times a Close datagram is sent.
const closeRepeats = 3

// finish ends the session once: it records why, tells the peer when
// notify is set, stops kcp-go and leaves the endpoint's maps.
func (c *Conn) finish(why error, notify *control) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.termErr = why
		c.mu.Unlock()
		if notify != nil {
			var buf [maxCloseSize]byte
			b := appendControl(buf[:sessionHeaderSize], *notify)
			for range closeRepeats {
				_ = c.send(typeControl, b) // best effort: the repeats stand in for a lost datagram, and the session ends anyway
			}
		}
		close(c.done)
		_ = c.kcp.Close() // the session is ending with why; kcp-go's close error adds nothing
		c.ep.remove(c)
		c.signal()
	})
}

// send stamps the session header on b (whose first sessionHeaderSize
// bytes are reserved) and writes it to the socket.
func (c *Conn) send(typ byte, b []byte) error {
	putSessionHeader(b, sessionHeader{Type: typ, Token: c.token, PN: c.pn.Add(1)})
	n, err := c.ep.pc.WriteTo(b, c.remote)
	c.bytesSent.Add(uint64(n))
	c.lastSent.Store(c.ep.nanos(time.Now()))
	return err
}

// sendKCP carries one kcp-go packet, plus as many redundant copies as the
// current level (at least one on a sparse session) and the budget allow. kcp-go calls it from its
// post-processing workers.
func (c *Conn) sendKCP(p []byte) error {
	buf := getBuf()
	b := append((*buf)[:sessionHeaderSize], p...)
	defer putBuf(buf, b)
	c.countRetransmits(p)
	if err := c.send(typeKCP, b); err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	level := c.red.onSend(now)
	c.mu.Unlock()
	if level == 0 {
		return nil
	}
	for range level {
		c.mu.Lock()
		ok := c.red.allow(now, len(b))
		c.mu.Unlock()
		if !ok {
			break
		}
		if err := c.send(typeKCP, b); err != nil {
			return err
		}
		c.redundantBytes.Add(uint64(len(b)))
	}
	return nil
}

// kcp-go segment layout (little-endian): conv 4, cmd 1, frg 1, wnd 2,
// ts 4, sn 4, una 4, len 4, data.
const (
	kcpOverhead = 24
	kcpCmdPush  = 81
	fecHeader   = 6 // seqid 4, type 2 (then size 2 on data shards)
	fecTypeData = 0xf1
)

// countRetransmits counts PUSH segments whose sn is not newer than the
// newest sent: those are retransmissions.
func (c *Conn) countRetransmits(p []byte) {
	if c.pc.fec {
		if len(p) < fecHeader+2 || binary.LittleEndian.Uint16(p[4:]) != fecTypeData {
			return // parity shards carry no segments we can read
		}
		p = p[fecHeader+2:]
	}
	var retx uint64
	c.mu.Lock()
	for len(p) >= kcpOverhead {
		cmd := p[4]
		sn := binary.LittleEndian.Uint32(p[12:])
		n := binary.LittleEndian.Uint32(p[20:])
		if cmd == kcpCmdPush {
			if c.snStarted && !seqNewer(sn, c.maxSN) {
				retx++
			} else {
				c.maxSN, c.snStarted = sn, true
			}
		}
		if uint64(n) > uint64(len(p)-kcpOverhead) {
			break
		}
		p = p[kcpOverhead+int(n):]
	}
	c.mu.Unlock()
	if retx > 0 {
		c.retransmits.Add(retx)
	}
}

// onDatagram handles an authenticated datagram for this session on the
// read loop. It never blocks.
func (c *Conn) onDatagram(now time.Time, h sessionHeader, payload []byte, wire int) {
	c.lastRecv.Store(c.ep.nanos(now))
	c.bytesRecv.Add(uint64(wire))
	c.mu.Lock()
	c.rx.observe(h.PN)
	c.rxSince++
	c.mu.Unlock()
	switch h.Type {
	case typeKCP:
		c.pc.deliver(payload, c.remote)
	case typeUnreliable:
		seq, msg, err := decodeUnreliable(payload)
		if err != nil {
			c.drop(netcode.DropMalformed)
			return
		}
		if len(msg) > c.cfg.MaxMessageSize {
			c.drop(netcode.DropTooLarge)
			return
		}
		c.enqueueUnreliable(seq, msg)
	case typeControl:
		ctl, err := decodeControl(payload)
		if err != nil {
			c.drop(netcode.DropMalformed)
			return
		}
		switch ctl.Type {
		case ctlHeartbeat:
			srtt := time.Duration(c.kcp.GetSRTT()) * time.Millisecond // before c.mu: kcp-go's lock is never taken inside it
			c.mu.Lock()
			if c.minRTT < 0 || srtt < c.minRTT {
				c.minRTT = srtt
			}
			c.red.setCongested(srtt, c.minRTT)
			c.red.onReport(now, ctl.RecvMax, ctl.RecvCount)
			c.mu.Unlock()
		case ctlClose:
			c.finish(&netcode.CloseError{Code: ctl.Code, Reason: ctl.Reason}, nil)
		}
	}
}

// enqueueUnreliable keeps the freshest messages: a message not newer than
// the newest queued is stale; a full queue drops its oldest.
func (c *Conn) enqueueUnreliable(seq uint32, msg []byte) {
	c.mu.Lock()
	if len(c.uq) == 0 || (c.uqStarted && !seqNewer(seq, c.uqNewest)) {
		c.mu.Unlock()
		c.drop(netcode.DropStale)
		return
	}
	c.uqNewest, c.uqStarted = seq, true
	if c.uqLen == len(c.uq) {
		c.uqHead = (c.uqHead + 1) % len(c.uq)
		c.uqLen--
		c.drop(netcode.DropQueueFull)
	}
	i := (c.uqHead + c.uqLen) % len(c.uq)
	c.uq[i] = append(c.uq[i][:0], msg...)
	c.uqLen++
	c.mu.Unlock()
	c.signal()
}

// tick runs on the endpoint's tick loop: idle timeout, receive reports
// and heartbeats, and the redundancy controller's clock.
func (c *Conn) tick(now time.Time) {
	t := c.ep.nanos(now)
	if idle := time.Duration(t - c.lastRecv.Load()); idle > c.cfg.IdleTimeout {
		c.finish(&netcode.CodedError{Code: netcode.CodeIdleTimeout, Msg: fmt.Sprintf("nothing heard for %v", idle.Round(time.Millisecond)), Err: netcode.ErrIdleTimeout},
			&control{Type: ctlClose, Code: netcode.CodeIdleTimeout, Reason: "idle timeout"})
		return
	}
	c.mu.Lock()
	c.red.tick(now)
	report := c.reportDue(time.Duration(t - c.lastReport))
	beat := time.Duration(t-c.lastSent.Load()) >= c.cfg.HeartbeatInterval
	ctl := control{Type: ctlHeartbeat, RecvMax: c.rx.max, RecvCount: c.rx.count}
	if report || beat {
		c.rxSince = 0
		c.lastReport = t
	}
	c.mu.Unlock()
	if report || beat {
		var buf [heartbeatSize]byte
		_ = c.send(typeControl, appendControl(buf[:sessionHeaderSize], ctl)) // a heartbeat that fails to go is a lost datagram: the next one follows
	}
}

// reportDue says whether a receive report is due, since after the last
// one: ReportInterval has passed and the datagrams heard since then cover
// half a loss sample (MinSamples/2), or reportMaxGaps intervals have passed
// with anything heard. A busy session thus reports every ReportInterval; a
// sparse one (a 30 Hz game stream) reports about 5 times a second instead
// of 20, since the peer cannot form a loss sample from fewer datagrams
// anyway. Called with c.mu held.
func (c *Conn) reportDue(since time.Duration) bool {
	r := c.cfg.Redundancy
	if c.rxSince == 0 || since < r.ReportInterval {
		return false
	}
	return c.rxSince >= uint32(max(r.MinSamples/2, 1)) || since >= reportMaxGaps*r.ReportInterval
}

// reportMaxGaps bounds the wait of a sparse session's report, in
// ReportIntervals.
const reportMaxGaps = 4

// sessionPC is the net.PacketConn kcp-go sees for one session: WriteTo
// adds our header and redundancy; received KCP packets are pushed in by
// the endpoint's read loop (PacketPusher), so kcp-go starts no reader.
type sessionPC struct {
	c    *Conn
	fec  bool
	recv atomic.Pointer[func([]byte, net.Addr, error)]
}

func (p *sessionPC) SetPacketReceiver(fn func(b []byte, addr net.Addr, err error)) {
	if fn == nil {
		p.recv.Store(nil)
		return
	}
	p.recv.Store(&fn)
}

func (p *sessionPC) deliver(b []byte, addr net.Addr) {
	if fn := p.recv.Load(); fn != nil {
		(*fn)(b, addr, nil)
	}
}

func (p *sessionPC) ReadFrom([]byte) (int, net.Addr, error) { return 0, nil, net.ErrClosed }
func (p *sessionPC) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := p.c.sendKCP(b); err != nil {
		return 0, err
	}
	return len(b), nil
}
func (p *sessionPC) Close() error                     { return nil }
func (p *sessionPC) LocalAddr() net.Addr              { return p.c.ep.pc.LocalAddr() }
func (p *sessionPC) SetDeadline(time.Time) error      { return nil }
func (p *sessionPC) SetReadDeadline(time.Time) error  { return nil }
func (p *sessionPC) SetWriteDeadline(time.Time) error { return nil }

// Datagram buffers: one pool for every session's outgoing datagrams.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, maxDatagram+64); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(p *[]byte, b []byte) {
	if cap(b) <= maxDatagram+64 {
		*p = b[:0]
	}
	bufPool.Put(p)
}
