package social

import (
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode/frame"
)

// userState is an online (or recently online) registered user. Guarded by
// Service.mu.
type userState struct {
	id      string
	name    string
	peers   map[uint64]*peerState
	pres    presence
	loaded  bool                // friends and stored status have been read
	gen     uint64              // bumped by every friendship change, to detect stale loads
	friends map[string]struct{} // accepted friends, once loaded
	acked   uint64              // acknowledgement cursor (may be ahead of the database)

	// In a cluster (cluster.go): acknowledgements waiting to settle, and
	// the ids above acked this node sent to the user's sessions.
	ackQ      []pendingAck
	delivered map[uint64]struct{}
}

// pendingAck is an acknowledgement waiting for ClusterSettle.
type pendingAck struct {
	id uint64
	at time.Time
}

// peerState is one session. Guarded by Service.mu.
type peerState struct {
	p           service.Peer
	user        *userState // nil for guests
	closed      bool
	queued      bool   // waiting in Service.syncQ
	syncing     bool   // backlog not yet caught up: live messages go to pending
	waitAck     uint64 // backlog paused until an ack reaches this id (0: not paused)
	snapshot    bool   // friends' presence has been sent
	pending     []pendingMsg
	overflow    bool                // pending overflowed: read back from the database
	sentThrough uint64              // highest message id queued to this session
	seen        map[uint64]struct{} // in a cluster: ids above the user's cursor sent to this session
	readThrough uint64              // in a cluster: the newest id the current backlog pass read
	signals     *rate.Limiter       // Signal frames (SignalsPerSecond); safe without mu

	queuedReqs   int       // realtime requests queued or running (see inbox.go)
	closePending bool      // PeerClosed waits for queuedReqs to reach 0
	closedAt     time.Time // when PeerClosed was called
}

// pendingMsg is a live message held while the session's backlog is sent.
type pendingMsg struct {
	id   uint64
	data []byte
}

func (s *Service) timing() timing {
	return timing{grace: s.cfg.PresenceGrace, awayAfter: s.cfg.AwayAfter}
}

// enqueueLocked queues ps for the backlog workers (once).
func (s *Service) enqueueLocked(ps *peerState) {
	if ps.queued || ps.closed {
		return
	}
	ps.queued = true
	s.syncQ = append(s.syncQ, ps)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// deliverLocked fans a stored message out to every session of the
// recipients except session skip (0: none). Called under writeMu (so ids
// arrive in order) and mu.
func (s *Service) deliverLocked(id uint64, data []byte, recipients []string, skip uint64) {
	for _, uid := range recipients {
		u := s.online[uid]
		if u == nil {
			continue
		}
		for sid, ps := range u.peers {
			if sid == skip {
				continue
			}
			if ps.syncing {
				if len(ps.pending) >= s.cfg.PendingLimit {
					if !ps.overflow {
						ps.overflow = true
						ps.pending = nil
					}
					s.stats.pendingDrops.Add(1)
					continue
				}
				ps.pending = append(ps.pending, pendingMsg{id: id, data: data})
				continue
			}
			s.offerLocked(ps, id, data, &s.stats.delivered)
		}
	}
}

// offerLocked sends message id to ps unless it was sent already, and
// counts it in n. On a single node ids arrive in order, so the newest id
// sent tells; in a cluster they may not, so the session remembers the
// ids above its user's cursor (up to maxSeen: beyond, an id may be sent
// twice, never skipped).
func (s *Service) offerLocked(ps *peerState, id uint64, data []byte, n *atomic.Uint64) bool {
	if s.cl == nil {
		if id <= ps.sentThrough {
			return true
		}
		ps.sentThrough = id
	} else {
		u := ps.user
		if id <= u.acked {
			return true
		}
		if _, dup := ps.seen[id]; dup {
			return true
		}
		if ps.seen == nil {
			ps.seen = map[uint64]struct{}{}
		}
		if len(ps.seen) < maxSeen {
			ps.seen[id] = struct{}{}
		}
		if u.delivered == nil {
			u.delivered = map[uint64]struct{}{}
		}
		if len(u.delivered) < maxSeen {
			u.delivered[id] = struct{}{}
		}
		ps.sentThrough = max(ps.sentThrough, id)
	}
	if s.sendLocked(ps.p, data) {
		n.Add(1)
		return true
	}
	s.stats.sendFailed.Add(1)
	return false
}

// maxSeen bounds the ids a session (and a user) remembers above the
// user's cursor in a cluster.
const maxSeen = 1 << 14

// sendUserLocked sends data to every session of user uid that is online.
func (s *Service) sendUserLocked(uid string, data []byte) {
	if u := s.online[uid]; u != nil {
		for _, ps := range u.peers {
			s.sendLocked(ps.p, data)
		}
	}
}

// presenceOfLocked is what others see of uid: presence, status text,
// last seen (µs, 0 if unknown) and whether the hub (in a cluster: any
// node) knows the user.
func (s *Service) presenceOfLocked(uid string) (frame.Presence, string, int64, bool) {
	if s.cl != nil {
		v, known := s.viewLocked(uid)
		return v.p, v.text, v.seen, known
	}
	return s.localPresenceLocked(uid)
}

// localPresenceLocked is what this node shows of uid.
func (s *Service) localPresenceLocked(uid string) (frame.Presence, string, int64, bool) {
	u := s.online[uid]
	if u == nil {
		return frame.PresenceOffline, "", 0, false
	}
	if !u.loaded {
		if len(u.peers) > 0 {
			// Just connected, stored status not read yet: online for now;
			// loadUser publishes the full state (away, text) to friends
			// once read.
			return frame.PresenceOnline, "", u.pres.lastSeen.UnixMicro(), true
		}
		return frame.PresenceOffline, "", 0, false
	}
	return u.pres.shown, u.pres.shownText, u.pres.lastSeen.UnixMicro(), true
}

func (s *Service) presenceFrame(u *userState) []byte {
	b, err := frame.Marshal(&frame.PresenceUpdate{UserID: u.id, Presence: u.pres.shown, StatusText: u.pres.shownText, LastSeenUs: u.pres.lastSeen.UnixMicro()})
	if err != nil {
		s.log.Error("social: encode presence", "err", err)
		return nil
	}
	return b
}

// publishLocked pushes u's presence to its online friends.
func (s *Service) publishLocked(u *userState) {
	if !u.loaded {
		return
	}
	if s.cl != nil {
		s.announceLocked(u)
		s.refreshLocked(u.id)
		return
	}
	s.stats.presencePushes.Add(1)
	b := s.presenceFrame(u)
	if b == nil {
		return
	}
	for f := range u.friends {
		s.sendUserLocked(f, b)
	}
}

// snapshotLocked sends ps the presence of every friend who is not
// offline, right after login.
func (s *Service) snapshotLocked(ps *peerState) {
	if s.cl != nil {
		for f := range ps.user.friends {
			v, _ := s.viewLocked(f)
			if v.p == frame.PresenceOffline {
				continue
			}
			if b, err := frame.Marshal(&frame.PresenceUpdate{UserID: f, Presence: v.p, StatusText: v.text, LastSeenUs: v.seen}); err == nil {
				s.sendLocked(ps.p, b)
			}
		}
		return
	}
	for f := range ps.user.friends {
		fu := s.online[f]
		if fu == nil || !fu.loaded || fu.pres.shown == frame.PresenceOffline {
			continue
		}
		if b := s.presenceFrame(fu); b != nil {
			s.sendLocked(ps.p, b)
		}
	}
}

// relationChangedLocked updates the cached friend sets after a
// FriendUpdate(ev) between a and b: after FriendEventAccepted they are
// friends and each is shown the other's presence; after any other event
// they are not friends.
func (s *Service) relationChangedLocked(a, b string, ev frame.FriendEvent) {
	add := ev == frame.FriendEventAccepted
	ua, ub := s.online[a], s.online[b]
	if s.cl != nil {
		if ua != nil {
			s.relationSideLocked(ua, b, add)
		}
		if ub != nil {
			s.relationSideLocked(ub, a, add)
		}
		return
	}
	for _, pair := range [][2]*userState{{ua, ub}, {ub, ua}} {
		u, other := pair[0], pair[1]
		if u == nil {
			continue
		}
		u.gen++
		if !u.loaded {
			continue
		}
		otherID := b
		if u == ub {
			otherID = a
		}
		if add {
			u.friends[otherID] = struct{}{}
		} else {
			delete(u.friends, otherID)
		}
		if add && other != nil && other.loaded && other.pres.shown != frame.PresenceOffline {
			if f := s.presenceFrame(other); f != nil {
				s.sendUserLocked(u.id, f)
			}
		}
	}
}

// relationSideLocked (in a cluster) updates u's cached friend set after
// its relation with other changed (add: they are friends now) and shows
// u the new friend's presence.
func (s *Service) relationSideLocked(u *userState, other string, add bool) {
	u.gen++
	if !u.loaded {
		return
	}
	if add {
		u.friends[other] = struct{}{}
	} else {
		delete(u.friends, other)
	}
	s.cl.fanLocked(other, u.id, add)
	if !add {
		return
	}
	if v, _ := s.viewLocked(other); v.p != frame.PresenceOffline {
		if b, err := frame.Marshal(&frame.PresenceUpdate{UserID: other, Presence: v.p, StatusText: v.text, LastSeenUs: v.seen}); err == nil {
			s.sendUserLocked(u.id, b)
		}
	}
}

// tick runs the presence timers at now and returns the users that went
// offline (to record their last-seen time).
func (s *Service) tick(now time.Time) []lastSeen {
	t := s.timing()
	var gone []lastSeen
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.online {
		// Frames for other services (room inputs) count as activity too.
		if last := u.lastActivity(); last.After(u.pres.lastActive) && !last.After(now) {
			if u.pres.activity(last, t) {
				s.publishLocked(u)
			}
		}
		if u.pres.tick(now, t) {
			s.publishLocked(u)
		}
		if len(u.peers) == 0 && u.pres.gone(now, t) && len(u.ackQ) == 0 {
			delete(s.online, id)
			if s.cl != nil && u.loaded {
				for f := range u.friends {
					s.cl.fanLocked(f, id, false)
				}
			}
			gone = append(gone, lastSeen{id, u.pres.lastSeen.UnixMicro()})
		}
	}
	return gone
}

// lastActivity is the latest activity any of the user's sessions reports
// (zero if none reports it).
func (u *userState) lastActivity() time.Time {
	var last time.Time
	for _, ps := range u.peers {
		if ar, ok := ps.p.(service.ActivityReporter); ok {
			if t := ar.LastActivity(); t.After(last) {
				last = t
			}
		}
	}
	return last
}

type lastSeen struct {
	user string
	us   int64
}
