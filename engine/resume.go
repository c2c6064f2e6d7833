package engine

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// peer is a session as the services see it (service.Peer): it outlives
// the connections that carry it. A connection (session) that Hello
// authenticates creates one; when the connection is lost the peer is
// parked for Config.ResumeWindow, and a Resume on another connection
// takes it over. See docs/RESUME.md.
//
// Numbering: every numbered frame (frame.Numbered) the services or the
// session layer send is given the next number under mu and, with resume
// on, kept in the replay buffer until the client acknowledges it; it is
// queued to the live connection under the same lock, so that the order of
// numbers is the order on the wire. The peer's recv counts the client's
// numbered frames the engine processed, under mu too, so that a Resume
// reads an exact count.
//
// Lock order: notify, then Engine.mu, then mu, then a session's queue.
// Service callbacks (PeerAway, PeerBack, PeerClosed) run under notify
// only, so that a service that Sends from them takes mu freely and the
// services see away, back and closed in the order they happened.
type peer struct {
	e      *Engine
	id     uint64
	userID string
	name   string
	guest  bool
	resume bool // resume on: frames are numbered and kept

	lastActivity atomic.Int64 // unix nanos; see session.LastActivity

	conn atomic.Pointer[session] // the live connection; nil while parked or ended. Written under mu.

	notify sync.Mutex // serialises the services' away/back/closed callbacks

	mu       sync.Mutex // guards the fields below
	secret   string     // the current resume secret
	sent     uint64     // numbered frames sent: the last one's number
	recv     uint64     // the client's numbered frames processed
	replay   replayBuf
	parked   bool        // waiting for a Resume
	parkKey  parkKey     // the caps it counts under while parked
	timer    *time.Timer // the window's expiry while parked
	ended    bool        // closed for good: services were (or are being) told
	closeErr netcode.Code
}

var (
	_ service.Peer             = (*peer)(nil)
	_ service.BatchPeer        = (*peer)(nil)
	_ service.ActivityReporter = (*peer)(nil)
)

// parkKey is what a parked peer counts under for the caps.
type parkKey struct {
	ip    netip.Addr
	hasIP bool
	user  string
}

// SessionID implements service.Peer: the same over every connection.
func (p *peer) SessionID() uint64 { return p.id }

// UserID implements service.Peer.
func (p *peer) UserID() string { return p.userID }

// DisplayName implements service.Peer.
func (p *peer) DisplayName() string { return p.name }

// Guest implements service.Peer.
func (p *peer) Guest() bool { return p.guest }

// LastActivity implements service.ActivityReporter.
func (p *peer) LastActivity() time.Time {
	if n := p.lastActivity.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Send implements service.Peer.
func (p *peer) Send(ch netcode.Channel, b []byte) bool {
	if !p.Queue(ch, b) {
		return false
	}
	p.Flush()
	return true
}

// Queue implements service.BatchPeer. With resume off it is the live
// connection's Queue. With resume on, a numbered frame is numbered and
// kept (b is referenced, not copied: Peer.Send's bytes are immutable),
// then queued to the live connection; while parked it is only kept, and
// an unreliable frame is dropped. An unreliable frame too large for the
// transport's datagrams is numbered and sent reliably here, as the
// transport would have promoted it (so the client's count matches).
func (p *peer) Queue(ch netcode.Channel, b []byte) bool {
	if !p.resume {
		if s := p.conn.Load(); s != nil {
			return s.Queue(ch, b)
		}
		return false
	}
	if ch == netcode.Unreliable {
		s := p.conn.Load()
		if s == nil {
			p.e.c.drops[dropParked].Add(1)
			return false
		}
		if s.maxUnrel <= 0 || len(b) <= s.maxUnrel {
			return s.Queue(ch, b)
		}
		ch = netcode.Reliable
		p.e.c.drops[promotedTooLarge].Add(1)
	}
	if !ch.Valid() {
		return false
	}
	k, err := frame.Peek(b)
	if err != nil || !frame.Numbered(k) {
		if s := p.conn.Load(); s != nil {
			return s.Queue(ch, b)
		}
		return false
	}
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		p.e.c.drops[dropClosed].Add(1)
		return false
	}
	p.sent++
	if p.replay.push(b, p.e.cfg.ReplayFrames, p.e.cfg.ReplayBytes) && p.parked && p.closeErr == netcode.CodeOK {
		// A parked session whose buffer overflows can no longer be
		// resumed without a gap: end it now rather than at expiry.
		p.e.c.resume.overflowEnded.Add(1)
		p.closeErr = netcode.CodeResumeOverflow
		p.expireLocked()
	}
	ok := true
	if s := p.conn.Load(); s != nil {
		ok = s.Queue(ch, b)
	}
	p.mu.Unlock()
	return ok
}

// Flush implements service.BatchPeer.
func (p *peer) Flush() {
	if s := p.conn.Load(); s != nil {
		s.Flush()
	}
}

// Close implements service.Peer: the session ends for good, whatever its
// connection's state.
func (p *peer) Close(code netcode.Code, reason string) {
	p.mu.Lock()
	s := p.conn.Load()
	if s == nil && p.parked && !p.ended && p.closeErr == netcode.CodeOK {
		p.closeErr = max(code, 1) // any non-zero value: ended early
		p.expireLocked()
	}
	p.mu.Unlock()
	if s != nil {
		s.Close(code, reason)
	}
}

// expireLocked makes a parked peer's window end now: its timer's
// goroutine (already counted in parkWG) ends it. A timer that already
// fired is ending it anyway. mu is held.
func (p *peer) expireLocked() {
	if p.timer != nil && p.timer.Stop() {
		p.timer.Reset(0)
	}
}

// countIn counts one numbered frame from the client read on s; it
// reports false when s no longer carries the peer (a Resume moved it):
// the frame is then dropped unprocessed, and the client resends it.
func (p *peer) countIn(s *session) bool {
	p.mu.Lock()
	ok := p.conn.Load() == s
	if ok {
		p.recv++
	}
	p.mu.Unlock()
	return ok
}

// ack forgets the frames up to n, which the client has processed.
func (p *peer) ack(n uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > p.sent {
		return netcode.Errorf(netcode.CodeBadRequest, "ack of %d frames, %d sent", n, p.sent)
	}
	p.replay.ack(n, p.sent)
	return nil
}

// newSecret returns a fresh resume secret: 32 random bytes, base64url.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken system source)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// replayBuf holds the numbered frames sent and not yet acknowledged, by
// reference, oldest first: the n frames numbered sent-n+1 .. sent. Its
// array grows on demand (as ring does), never past the frame cap.
type replayBuf struct {
	items [][]byte
	head  int
	n     int
	bytes int
}

// push keeps b (the frame numbered sent) and reports whether it had to
// drop an unacknowledged frame to stay within maxFrames and maxBytes.
func (r *replayBuf) push(b []byte, maxFrames, maxBytes int) (dropped bool) {
	for r.n > 0 && (r.n >= maxFrames || r.bytes+len(b) > maxBytes) {
		r.pop()
		dropped = true
	}
	if r.n == len(r.items) {
		size := min(max(2*len(r.items), 8), maxFrames)
		items := make([][]byte, size)
		for i := range r.n {
			items[i] = r.items[(r.head+i)%len(r.items)]
		}
		r.items, r.head = items, 0
	}
	r.items[(r.head+r.n)%len(r.items)] = b
	r.n++
	r.bytes += len(b)
	return dropped
}

func (r *replayBuf) pop() {
	r.bytes -= len(r.items[r.head])
	r.items[r.head] = nil
	r.head = (r.head + 1) % len(r.items)
	r.n--
}

// first is the number of the oldest frame kept, given the last number sent.
func (r *replayBuf) first(sent uint64) uint64 { return sent - uint64(r.n) + 1 }

// ack drops the frames numbered up to n.
func (r *replayBuf) ack(n, sent uint64) {
	for r.n > 0 && r.first(sent) <= n {
		r.pop()
	}
	if r.n == 0 && len(r.items) > 64 {
		r.items, r.head = nil, 0 // a burst is over: give the array back
	}
}

// canReplayFrom reports whether every frame after n is still kept.
func (r *replayBuf) canReplayFrom(n, sent uint64) bool {
	return n >= sent-uint64(r.n)
}

// after returns the frames numbered n+1 .. sent, oldest first.
func (r *replayBuf) after(n, sent uint64) [][]byte {
	skip := int(n - (sent - uint64(r.n)))
	out := make([][]byte, 0, r.n-skip)
	for i := skip; i < r.n; i++ {
		out = append(out, r.items[(r.head+i)%len(r.items)])
	}
	return out
}

// Reasons a Resume is refused, used in Stats.Resume.Refused.
const (
	resumeUnknown = iota
	resumeBadSecret
	resumeOverflow
	resumeBadCount
	resumeOff
	numResumeRefusals
)

var resumeRefusalNames = [numResumeRefusals]string{"unknown", "bad_secret", "overflow", "bad_count", "off"}

// Reasons a lost session was ended instead of parked, used in
// Stats.Resume.ParkRefused.
const (
	parkPerIP = iota
	parkPerUser
	parkGlobal
	numParkRefusals
)

var parkRefusalNames = [numParkRefusals]string{"per_ip", "per_user", "global"}

// resumeCounters are the engine's resume counters.
type resumeCounters struct {
	resumed       atomic.Uint64
	replayed      atomic.Uint64
	replaced      atomic.Uint64
	parkedTotal   atomic.Uint64
	expired       atomic.Uint64
	overflowEnded atomic.Uint64
	refused       [numResumeRefusals]atomic.Uint64
	parkRefused   [numParkRefusals]atomic.Uint64
}

// ResumeStats counts session resumes (docs/RESUME.md).
type ResumeStats struct {
	// Parked is how many sessions wait for a Resume now; ParkedTotal how
	// many ever were parked.
	Parked      int    `json:"parked"`
	ParkedTotal uint64 `json:"parked_total"`
	// Resumed counts accepted Resumes, Replayed the frames they replayed,
	// Replaced the live (half-open) connections they closed with
	// CodeReplaced.
	Resumed  uint64 `json:"resumed"`
	Replayed uint64 `json:"replayed"`
	Replaced uint64 `json:"replaced"`
	// Expired counts parked sessions whose window ran out; OverflowEnded
	// parked sessions ended because their replay buffer overflowed.
	Expired       uint64 `json:"expired"`
	OverflowEnded uint64 `json:"overflow_ended"`
	// Refused counts refused Resumes by reason: "unknown", "bad_secret",
	// "overflow", "bad_count" (received above what was sent), "off".
	Refused map[string]uint64 `json:"refused"`
	// ParkRefused counts lost sessions ended at once because a cap on
	// parked sessions was reached: "per_ip", "per_user", "global".
	ParkRefused map[string]uint64 `json:"park_refused"`
}

func (e *Engine) resumeStats() ResumeStats {
	c := &e.c.resume
	st := ResumeStats{
		ParkedTotal: c.parkedTotal.Load(), Resumed: c.resumed.Load(), Replayed: c.replayed.Load(),
		Replaced: c.replaced.Load(), Expired: c.expired.Load(), OverflowEnded: c.overflowEnded.Load(),
		Refused: map[string]uint64{}, ParkRefused: map[string]uint64{},
	}
	for i := range c.refused {
		st.Refused[resumeRefusalNames[i]] = c.refused[i].Load()
	}
	for i := range c.parkRefused {
		st.ParkRefused[parkRefusalNames[i]] = c.parkRefused[i].Load()
	}
	e.mu.Lock()
	st.Parked = e.parked.total
	e.mu.Unlock()
	return st
}

// parking counts the parked peers for the caps; guarded by Engine.mu.
type parking struct {
	total  int
	byIP   map[netip.Addr]int
	byUser map[string]int
}

func (pk *parking) add(k parkKey, d int) {
	pk.total += d
	if k.hasIP {
		if pk.byIP[k.ip] += d; pk.byIP[k.ip] <= 0 {
			delete(pk.byIP, k.ip)
		}
	}
	if pk.byUser[k.user] += d; pk.byUser[k.user] <= 0 {
		delete(pk.byUser, k.user)
	}
}

// refusal is the cap a new parked peer under k would exceed, or -1.
func (pk *parking) refusal(cfg *Config, k parkKey) int {
	switch {
	case cfg.MaxParked > 0 && pk.total >= cfg.MaxParked:
		return parkGlobal
	case k.hasIP && cfg.MaxParkedPerIP > 0 && pk.byIP[k.ip] >= cfg.MaxParkedPerIP:
		return parkPerIP
	case cfg.MaxParkedPerUser > 0 && pk.byUser[k.user] >= cfg.MaxParkedPerUser:
		return parkPerUser
	}
	return -1
}

// openPeer creates the peer of a session that Hello authenticated and
// returns it with its first resume secret ("" with resume off), read
// before the peer is shared.
func (e *Engine) openPeer(s *session, resume bool) (*peer, string) {
	p := &peer{
		e: e, id: s.id, userID: s.userID, name: s.name, guest: s.guest,
		resume: resume && e.cfg.ResumeWindow > 0,
	}
	if p.resume {
		p.secret = newSecret()
	}
	p.conn.Store(s)
	secret := p.secret
	e.mu.Lock()
	e.peers[p.id] = p
	e.mu.Unlock()
	return p, secret
}

// detach runs when the connection s of an opened session has ended: if s
// still carries its peer, the peer is parked (a lost connection, resume
// on, under the caps, engine running) or ended for good.
func (e *Engine) detach(s *session) {
	p := s.peer
	p.notify.Lock()
	defer p.notify.Unlock()
	e.mu.Lock()
	p.mu.Lock()
	if p.conn.Load() != s || p.ended {
		p.mu.Unlock()
		e.mu.Unlock()
		return
	}
	p.conn.Store(nil)
	park := p.resume && s.closeMode == closeLost && !e.closed
	key := parkKey{ip: s.ip, hasIP: s.hasIP, user: p.userID}
	if park {
		if r := e.parked.refusal(&e.cfg, key); r >= 0 {
			e.c.resume.parkRefused[r].Add(1)
			park = false
		}
	}
	if !park {
		p.ended = true
		delete(e.peers, p.id)
		p.mu.Unlock()
		e.mu.Unlock()
		e.closePeer(p)
		return
	}
	p.parked, p.parkKey = true, key
	e.parked.add(key, 1)
	e.parkWG.Add(1)
	p.timer = time.AfterFunc(e.cfg.ResumeWindow, func() { e.expire(p) })
	p.mu.Unlock()
	e.mu.Unlock()
	e.c.resume.parkedTotal.Add(1)
	s.log.Debug("session parked", "window", e.cfg.ResumeWindow, "code", s.closeCode.String())
	for _, svc := range e.cfg.Services {
		if r, ok := svc.(service.Resumer); ok {
			r.PeerAway(p)
		}
	}
}

// expire ends a parked peer whose window ran out (or that was ended
// early: an overflow, a service's Close, Shutdown). It runs on the
// timer's goroutine, counted in parkWG.
func (e *Engine) expire(p *peer) {
	defer e.parkWG.Done()
	p.notify.Lock()
	defer p.notify.Unlock()
	e.mu.Lock()
	p.mu.Lock()
	if !p.parked || p.ended {
		p.mu.Unlock()
		e.mu.Unlock()
		return
	}
	p.parked, p.ended, p.timer = false, true, nil
	e.parked.add(p.parkKey, -1)
	delete(e.peers, p.id)
	if p.closeErr == netcode.CodeResumeOverflow {
		// Remembered for the rest of the window, so that the client's
		// Resume learns why (resume_overflow: rejoin fresh), not just
		// that the session is gone.
		e.tombstone(p.id, p.secret)
	}
	early := p.closeErr != netcode.CodeOK
	p.mu.Unlock()
	e.mu.Unlock()
	if !early {
		e.c.resume.expired.Add(1)
	}
	e.log.Debug("parked session ended", "session", p.id, "user", p.userID)
	e.closePeer(p)
}

// closingForCause reports whether s is closing for a reason other than a
// lost connection.
func closingForCause(s *session) bool {
	if s == nil {
		return false
	}
	select {
	case <-s.closing:
		return s.closeMode != closeLost // written before closing was closed
	default:
		return false
	}
}

// tombstone remembers, for one resume window, that session id ended
// because its replay buffer overflowed; Engine.mu is held. The map is
// bounded by MaxParked (past it nothing is remembered: the Resume gets
// resume_unknown) and pruned as entries are added.
func (e *Engine) tombstone(id uint64, secret string) {
	now := e.cfg.Now()
	for k, g := range e.gone {
		if now.After(g.until) {
			delete(e.gone, k)
		}
	}
	if e.cfg.MaxParked > 0 && len(e.gone) >= e.cfg.MaxParked {
		return
	}
	e.gone[id] = goneSession{secret: secret, until: now.Add(e.cfg.ResumeWindow)}
}

// goneSession is a session that ended by overflow, for its Resume.
type goneSession struct {
	secret string
	until  time.Time
}

// closePeer tells every service that the session ended; notify is held.
func (e *Engine) closePeer(p *peer) {
	for _, svc := range e.cfg.Services {
		svc.PeerClosed(p)
	}
}

// endParked ends every parked peer at once (Shutdown, once no connection
// is left) and waits for their expiry goroutines.
func (e *Engine) endParked() {
	e.mu.Lock()
	var ps []*peer
	for _, p := range e.peers {
		ps = append(ps, p)
	}
	e.mu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		if p.parked && !p.ended && p.closeErr == netcode.CodeOK {
			p.closeErr = netcode.CodeServerShutdown
			p.expireLocked()
		}
		p.mu.Unlock()
	}
	e.parkWG.Wait()
}

// resume answers a Resume: it moves the session it names onto s, or
// refuses.
func (s *session) resume(now time.Time, data []byte) bool {
	e := s.e
	var m frame.Resume
	if err := s.dec.Decode(data, &m); err != nil {
		return s.failErr(err, 0)
	}
	if m.Version != frame.ProtocolVersion {
		return s.reject(netcode.CodeProtocolVersion, fmt.Sprintf("protocol version %d not supported, server speaks %d", m.Version, frame.ProtocolVersion))
	}
	refuse := func(reason int, code netcode.Code, msg string) bool {
		e.c.resume.refused[reason].Add(1)
		return s.reject(code, msg)
	}
	if e.cfg.ResumeWindow <= 0 {
		return refuse(resumeOff, netcode.CodeUnsupported, "this server does not resume sessions")
	}
	e.mu.Lock()
	p := e.peers[m.SessionID]
	g, gone := e.gone[m.SessionID]
	if gone && subtle.ConstantTimeCompare([]byte(m.ResumeID), []byte(g.secret)) == 1 && now.Before(g.until) {
		delete(e.gone, m.SessionID)
	} else {
		gone = false
	}
	e.mu.Unlock()
	if gone {
		return refuse(resumeOverflow, netcode.CodeResumeOverflow, "frames you had not received were dropped while you were away: start a new session and rejoin")
	}
	if p == nil {
		return refuse(resumeUnknown, netcode.CodeResumeUnknown, "no such session: start a new one")
	}

	p.notify.Lock()
	e.mu.Lock()
	p.mu.Lock()
	unlock := func() {
		p.mu.Unlock()
		e.mu.Unlock()
		p.notify.Unlock()
	}
	switch {
	case !p.resume || p.secret == "":
		// The client did not ask for resume: nothing is kept, and its
		// secret is empty, which must never match.
		unlock()
		return refuse(resumeUnknown, netcode.CodeResumeUnknown, "no such session: start a new one")
	case p.ended || closingForCause(p.conn.Load()):
		// A session the server is ending (too many errors, rate limit,
		// slow consumer, a service's Close) cannot be saved by a Resume.
		unlock()
		return refuse(resumeUnknown, netcode.CodeResumeUnknown, "no such session: start a new one")
	case subtle.ConstantTimeCompare([]byte(m.ResumeID), []byte(p.secret)) != 1:
		unlock()
		return refuse(resumeBadSecret, netcode.CodeResumeBadSecret, "wrong resume secret")
	case m.Received > p.sent:
		unlock()
		return refuse(resumeBadCount, netcode.CodeBadRequest, fmt.Sprintf("received %d frames, %d were sent", m.Received, p.sent))
	case !p.replay.canReplayFrom(m.Received, p.sent):
		// Frames the client had not processed are gone: the session
		// cannot continue without a gap, so it ends.
		old := p.conn.Load()
		p.conn.Store(nil)
		wasParked := p.parked
		if p.parked {
			e.parked.add(p.parkKey, -1)
			p.parked = false
		}
		p.ended = true
		delete(e.peers, p.id)
		if p.timer != nil && p.timer.Stop() {
			e.parkWG.Done()
		}
		p.mu.Unlock()
		e.mu.Unlock()
		if old != nil {
			old.close(netcode.CodeResumeOverflow, "session resumed without its lost frames: start a new one", closeAbort)
			e.closer.add(old)
		}
		if wasParked || old != nil {
			e.closePeer(p)
		}
		p.notify.Unlock()
		return refuse(resumeOverflow, netcode.CodeResumeOverflow, "frames you had not received were dropped: start a new session and rejoin")
	}

	// Take the session over.
	old := p.conn.Load()
	wasParked := p.parked
	if p.parked {
		e.parked.add(p.parkKey, -1)
		p.parked = false
		if p.timer != nil && p.timer.Stop() {
			e.parkWG.Done()
		}
		p.timer = nil
	}
	p.replay.ack(m.Received, p.sent)
	p.secret = newSecret()
	s.userID, s.name, s.guest, s.peer = p.userID, p.name, p.guest, p
	s.handshake.Stop()
	s.holding.Store(true)
	s.q.hold()
	replay := p.replay.after(m.Received, p.sent)
	s.reply(netcode.Reliable, &frame.Welcome{
		SessionID:       p.id,
		UserID:          p.userID,
		DisplayName:     p.name,
		ServerTimeUs:    now.UnixMicro(),
		MaxFrame:        uint32(e.cfg.MaxFrameSize),
		MaxFramesPerSec: uint32(max(e.cfg.MaxFramesPerSecond, 0)),
		HeartbeatMs:     uint32(e.cfg.HeartbeatInterval / time.Millisecond),
		IdleTimeoutMs:   uint32(e.cfg.IdleTimeout / time.Millisecond),
		ResumeID:        p.secret,
		ResumeWindowMs:  uint32(e.cfg.ResumeWindow / time.Millisecond),
		Resumed:         true,
		Received:        p.recv,
		Replay:          uint32(len(replay)),
	})
	for _, b := range replay {
		s.queue(outFrame{ch: netcode.Reliable, b: b})
	}
	p.conn.Store(s)
	s.authed.Store(true)
	p.mu.Unlock()
	e.mu.Unlock()
	e.c.handshakes.Add(1)
	e.c.resume.resumed.Add(1)
	e.c.resume.replayed.Add(uint64(len(replay)))
	if old != nil {
		// A half-open connection: the client is on s now.
		e.c.resume.replaced.Add(1)
		old.close(netcode.CodeReplaced, "session resumed on another connection", closeAbort)
		e.closer.add(old)
	}
	if wasParked {
		for _, svc := range e.cfg.Services {
			if r, ok := svc.(service.Resumer); ok {
				r.PeerBack(p)
			}
		}
	}
	p.notify.Unlock()
	s.opened = true
	s.holding.Store(false)
	if s.wake == nil {
		s.goDirect()
	} else {
		s.wakeWriter()
	}
	s.log = s.log.With("user", s.userID, "resumed", p.id, "client", m.ClientName, "client_version", m.ClientVersion)
	s.log.Debug("session resumed", "replayed", len(replay), "replaced", old != nil, "was_parked", wasParked)
	return true
}
