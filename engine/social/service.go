package social

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tickwire/tickwire/engine/limit"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Service is the social service. Create it with New.
type Service struct {
	cfg   Config
	log   *slog.Logger
	st    Store // a timedStore over Config.Store
	stLat *prometheus.HistogramVec
	users Users
	rate  *limit.Keyed[string] // messages per user

	seed    maphash.Seed // picks a user's inbox
	inboxes []*inbox     // one per request worker

	writeMu sync.Mutex            // serialises message insert+fan-out and membership changes; guards groups
	groups  map[uint64]*groupInfo // cached membership of groups that received messages

	mu       sendMutex // guards the fields below; never held across a database call or a socket write
	online   map[string]*userState
	peers    map[uint64]*peerState
	syncQ    []*peerState
	ackDirty map[string]uint64 // cursors not yet written
	httpSent map[string]uint64 // newest message id the HTTP inbox returned, by user, until acknowledged (at most maxHTTPSent)

	guests map[string]map[uint64]*peerState // guests' sessions by user id (for room signals); guarded by mu
	calls  *callBook                        // every call (calls.go); guarded by mu

	wake     chan struct{} // capacity 1: coalesced wakeup of the backlog workers
	stats    counters
	invites  *limit.Keyed[string] // call invitations per user
	sig      sigCounters
	callStat callCounters

	cl *cluster // nil on a single node (no Config.Broker)
}

// groupInfo is a group's cached membership. Guarded by writeMu.
type groupInfo struct {
	name    string
	members map[string]frame.Role // user id -> role
	list    []string
}

type counters struct {
	delivered      atomic.Uint64 // live message frames queued to sessions
	backlog        atomic.Uint64 // backlog message frames queued to sessions
	sendFailed     atomic.Uint64 // Peer.Send refused (the session is closing)
	pendingDrops   atomic.Uint64 // live messages dropped from a syncing session's pending list (re-read later)
	presencePushes atomic.Uint64 // presence changes published
	stored         atomic.Uint64 // messages stored
	busyInbox      atomic.Uint64 // requests refused: the worker's inbox was full
	busyPeer       atomic.Uint64 // requests refused: the session had MaxQueuedPerPeer pending
	unanswered     atomic.Uint64 // requests refused because the service stopped
	limited        atomic.Uint64 // requests refused by a friends, groups, members or invitations limit
	cut            atomic.Uint64 // list replies cut to fit a frame
}

// Stats is a snapshot of the service's counters.
type Stats struct {
	Stored         uint64 `json:"stored"`
	Delivered      uint64 `json:"delivered"`
	Backlog        uint64 `json:"backlog"`
	SendFailed     uint64 `json:"send_failed"`
	PendingDrops   uint64 `json:"pending_drops"`
	PresencePushes uint64 `json:"presence_pushes"`
	OnlineUsers    int    `json:"online_users"`
	Sessions       int    `json:"sessions"`
	// Queued is the number of realtime requests waiting for a worker.
	Queued int `json:"queued"`
	// Refused counts refusals by reason.
	Refused Refused `json:"refused"`
	// ListsCut counts list replies cut to fit one frame (More set).
	ListsCut uint64 `json:"lists_cut"`
	// MessageRate is the per-user message rate limiter's counters
	// (refused: CodeMessageRateLimited).
	MessageRate limit.Stats `json:"message_rate"`
	// Signal is the signaling relay's counters.
	Signal SignalStats `json:"signal"`
	// Calls is the calls' counters.
	Calls CallStats `json:"calls"`
	// Cluster is the broker traffic (zero without Config.Broker).
	Cluster ClusterStats `json:"cluster"`
}

// Refused counts requests refused by a capacity limit, by reason.
type Refused struct {
	InboxFull   uint64 `json:"inbox_full"`   // CodeServerBusy: the user's worker inbox was full
	PeerQueue   uint64 `json:"peer_queue"`   // CodeServerBusy: the session had MaxQueuedPerPeer requests pending
	Shutdown    uint64 `json:"shutdown"`     // CodeServerShutdown: queued when the service stopped
	SocialLimit uint64 `json:"social_limit"` // CodeSocialLimit: friends, groups, members or pending invitations
}

var (
	_ service.Service = (*Service)(nil)
	_ service.Runner  = (*Service)(nil)
	_ service.Router  = (*Service)(nil)

	_ service.ActivityFilter = (*Service)(nil)
	_ service.StatsReporter  = (*Service)(nil)
)

// New returns a Service. The database must already be migrated.
func New(cfg Config) (*Service, error) {
	if err := cfg.populate(); err != nil {
		return nil, err
	}
	inboxes := make([]*inbox, cfg.Workers)
	for i := range inboxes {
		inboxes[i] = newInbox()
	}
	stLat := newStoreLatency()
	cl := newCluster(&cfg)
	return &Service{
		cl:       cl,
		cfg:      cfg,
		log:      cfg.Logger,
		st:       newTimedStore(cfg.Store, stLat),
		stLat:    stLat,
		users:    cfg.Users,
		rate:     limit.NewKeyed[string](rate.Limit(cfg.MessagesPerSecond), cfg.MessageBurst, 0),
		seed:     maphash.MakeSeed(),
		inboxes:  inboxes,
		groups:   map[uint64]*groupInfo{},
		online:   map[string]*userState{},
		peers:    map[uint64]*peerState{},
		ackDirty: map[string]uint64{},
		httpSent: map[string]uint64{},
		wake:     make(chan struct{}, 1),
		guests:   map[string]map[uint64]*peerState{},
		calls:    newCallBook(cfg.RingTimeout, cfg.MaxCalls, rand.Uint64N(1<<52)), // ids stay below 2^53: a JS number holds them,
		invites:  limit.NewKeyed[string](limit.Per(1, time.Minute)*rate.Limit(cfg.CallInvitesPerMinute), cfg.CallInviteBurst, 0),
	}, nil
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	var cs ClusterStats
	s.mu.Lock()
	online, sessions := len(s.online), len(s.peers)
	if c := s.cl; c != nil {
		cs = ClusterStats{Node: c.node, Published: c.stats.published.Load(), Received: c.stats.received.Load(),
			Dropped: c.stats.dropped.Load(), Errors: c.stats.errors.Load(), Resyncs: c.stats.resyncs.Load(),
			Held: c.stats.held.Load(), Overflow: c.stats.overflow.Load(), RemoteUsers: len(c.remote), RemoteIdle: c.idle, RemoteCalls: len(c.rcalls)}
	}
	s.mu.Unlock()
	queued := 0
	for _, b := range s.inboxes {
		queued += b.len()
	}
	return Stats{
		Stored: s.stats.stored.Load(), Delivered: s.stats.delivered.Load(), Backlog: s.stats.backlog.Load(),
		SendFailed: s.stats.sendFailed.Load(), PendingDrops: s.stats.pendingDrops.Load(),
		PresencePushes: s.stats.presencePushes.Load(), OnlineUsers: online, Sessions: sessions,
		Queued: queued,
		Refused: Refused{
			InboxFull: s.stats.busyInbox.Load(), PeerQueue: s.stats.busyPeer.Load(),
			Shutdown: s.stats.unanswered.Load(), SocialLimit: s.stats.limited.Load(),
		},
		ListsCut:    s.stats.cut.Load(),
		MessageRate: s.rate.Stats(),
		Signal:      s.sig.snapshot(),
		Calls:       s.callStats(),
		Cluster:     cs,
	}
}

// ServiceStats implements service.StatsReporter: the engine serves Stats
// as JSON under "services"."social" in GET /v1/stats.
func (s *Service) ServiceStats() any { return s.Stats() }

// Name implements service.Service.
func (s *Service) Name() string { return "social" }

// Handles implements service.Service: kinds 64–127.
func (s *Service) Handles(k frame.Kind) bool { return frame.IsSocialKind(k) }

// IsActivity implements service.ActivityFilter: a delivery acknowledgement
// is sent by client code, not by a person, so it does not reset the idle
// timer; every other social frame does.
func (s *Service) IsActivity(k frame.Kind) bool { return k != frame.KindMessageAck }

func (s *Service) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.OpTimeout)
}

// PeerOpened implements service.Service. A registered user's session
// counts towards presence at once; its backlog and its friends' presence
// are sent by the Run workers.
func (s *Service) PeerOpened(p service.Peer) {
	if s.cl != nil && !p.Guest() {
		// Before the session can see anything: what other nodes push for
		// the user from now on reaches this node (one broker round trip,
		// once per user).
		s.subscribeUser(p.UserID())
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := &peerState{p: p, signals: rate.NewLimiter(rate.Limit(s.cfg.SignalsPerSecond), s.cfg.SignalBurst)}
	s.peers[p.SessionID()] = ps
	if p.Guest() {
		g := s.guests[p.UserID()]
		if g == nil {
			g = map[uint64]*peerState{}
			s.guests[p.UserID()] = g
		}
		g[p.SessionID()] = ps
		return
	}
	u := s.online[p.UserID()]
	if u == nil {
		u = &userState{id: p.UserID(), name: p.DisplayName(), peers: map[uint64]*peerState{}}
		s.online[u.id] = u
	}
	u.peers[p.SessionID()] = ps
	ps.user = u
	s.callOpenedLocked(ps)
	ps.syncing = true
	if u.pres.open(now, s.timing()) {
		s.publishLocked(u)
	} else if s.cl != nil && u.loaded && len(u.peers) == 1 {
		s.announceLocked(u) // back within the grace: holds a session of u again
	}
	s.enqueueLocked(ps)
}

// PeerClosed implements service.Service. It takes effect once the
// session's queued requests have run (at once if none is queued).
// Friends see the user offline only once the grace period has passed
// without a new session.
func (s *Service) PeerClosed(p service.Peer) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers[p.SessionID()]
	if ps == nil || ps.closePending {
		return
	}
	if ps.queuedReqs > 0 {
		ps.closePending, ps.closedAt = true, now
		return
	}
	s.closeLocked(ps, now)
}

// closeLocked forgets a closed session.
func (s *Service) closeLocked(ps *peerState, now time.Time) {
	delete(s.peers, ps.p.SessionID())
	ps.closed = true
	ps.pending = nil
	if u := ps.user; u != nil {
		delete(u.peers, ps.p.SessionID())
		s.callSessionClosedLocked(ps, now)
		if u.pres.close(now, s.timing()) {
			s.publishLocked(u)
		} else if s.cl != nil && u.loaded && len(u.peers) == 0 {
			s.announceLocked(u) // the other nodes learn this one holds no session of u
		}
	} else if g := s.guests[ps.p.UserID()]; g != nil {
		delete(g, ps.p.SessionID())
		if len(g) == 0 {
			delete(s.guests, ps.p.UserID())
		}
	}
}

func (s *Service) peer(p service.Peer) *peerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[p.SessionID()]
}

// Run implements service.Runner: the request workers, the backlog
// workers and the timer loop (presence, acknowledgement flushing). It
// returns when ctx ends, after the requests still queued were refused
// (CodeServerShutdown) and a last flush of acknowledgement cursors. The
// service answers realtime requests only while Run runs; call it once.
func (s *Service) Run(ctx context.Context) error {
	if s.cl != nil {
		if err := s.startCluster(); err != nil {
			// Node-local until BrokerReconnected.
			s.log.Warn("social: broker subscriptions", "err", err)
		}
		defer s.stopCluster()
	}
	if s.cl != nil {
		// The sender ends after the workers (the last answers may publish).
		sctx, stop := context.WithCancel(context.Background())
		var swg sync.WaitGroup
		swg.Add(1)
		go func() {
			defer swg.Done()
			s.cl.sender(sctx)
		}()
		defer func() { stop(); swg.Wait() }()
	}
	var wg sync.WaitGroup
	for _, b := range s.inboxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.requestWorker(ctx, b)
		}()
	}
	for range s.cfg.SyncWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx)
		}()
	}
	tick := time.NewTicker(s.cfg.TickInterval)
	defer tick.Stop()
	flush := time.NewTicker(s.cfg.AckFlush)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			fctx, cancel := s.opCtx()
			s.flushAcks(fctx)
			cancel()
			return nil
		case <-tick.C:
			s.Tick(s.cfg.Now())
		case <-flush.C:
			fctx, cancel := s.opCtx()
			s.flushAcks(fctx)
			cancel()
		}
	}
}

// Tick runs the presence timers at now (Run calls it every TickInterval;
// tests call it with a fake clock).
func (s *Service) Tick(now time.Time) {
	s.mu.Lock()
	s.expireCallsLocked(now)
	s.expireRemoteCallsLocked(now)
	s.mu.Unlock()
	gone := s.tick(now)
	ctx, cancel := s.opCtx()
	defer cancel()
	if s.cl != nil {
		s.settleAcks(ctx, now)
		if len(gone) > 0 {
			uids := make([]string, len(gone))
			for i, g := range gone {
				uids[i] = g.user
			}
			s.unsubscribeGone(uids)
		}
	}
	for _, g := range gone {
		if err := s.st.SetLastSeen(ctx, g.user, g.us); err != nil {
			s.log.Warn("social: last seen", "user", g.user, "err", err)
		}
	}
}

// flushAcks writes the dirty acknowledgement cursors.
func (s *Service) flushAcks(ctx context.Context) {
	s.mu.Lock()
	if len(s.ackDirty) == 0 {
		s.mu.Unlock()
		return
	}
	dirty := s.ackDirty
	s.ackDirty = map[string]uint64{}
	s.mu.Unlock()
	for uid, id := range dirty {
		if err := s.st.AdvanceCursor(ctx, uid, id); err != nil {
			s.log.Warn("social: flush ack", "user", uid, "err", err)
			s.mu.Lock()
			s.ackDirty[uid] = max(s.ackDirty[uid], id)
			s.mu.Unlock()
		}
	}
}

// worker sends backlogs until ctx ends.
func (s *Service) worker(ctx context.Context) {
	for {
		s.mu.Lock()
		var ps *peerState
		if len(s.syncQ) > 0 {
			ps = s.syncQ[0]
			s.syncQ[0] = nil
			s.syncQ = s.syncQ[1:]
			ps.queued = false
			if len(s.syncQ) > 0 {
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		}
		s.mu.Unlock()
		if ps == nil {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				continue
			}
		}
		s.syncPeer(ps)
	}
}

// syncPeer loads a logging-in user's friends and status (once), sends the
// session its friends' presence (once) and then its backlog: the messages
// above the user's cursor, in id order, one window at a time. When the
// backlog is caught up, live messages held meanwhile are sent and the
// session goes live.
func (s *Service) syncPeer(ps *peerState) {
	ctx, cancel := s.opCtx()
	defer cancel()
	if s.cl != nil {
		// Before the inbox is read: a message stored after the read is
		// published to this node.
		s.subscribeUser(ps.user.id)
	}
	if err := s.loadUser(ctx, ps); err != nil {
		s.log.Error("social: load user", "err", err)
		ps.p.Close(netcode.CodeInternal, "social state unavailable")
		return
	}
	u := ps.user
	s.mu.Lock()
	if !ps.snapshot {
		ps.snapshot = true
		s.snapshotLocked(ps)
	}
	after := max(u.acked, ps.sentThrough)
	if s.cl != nil {
		// Ids may arrive out of order: read from the cursor (or where
		// this pass got to); offerLocked skips what was sent.
		after = max(u.acked, ps.readThrough)
	}
	s.mu.Unlock()
	for {
		msgs, err := s.st.Inbox(ctx, u.id, after, s.cfg.BacklogWindow)
		if err != nil {
			s.log.Error("social: backlog", "err", err)
			ps.p.Close(netcode.CodeInternal, "social backlog unavailable")
			return
		}
		frames := make([][]byte, len(msgs))
		for i := range msgs {
			if frames[i], err = frame.Marshal(&frame.Message{ChatMessage: msgs[i]}); err != nil {
				s.log.Error("social: encode message", "err", err)
				return
			}
		}
		s.mu.Lock()
		if ps.closed {
			s.mu.Unlock()
			return
		}
		for i := range msgs {
			if !s.offerLocked(ps, msgs[i].ID, frames[i], &s.stats.backlog) {
				s.mu.Unlock()
				return
			}
		}
		if len(msgs) > 0 {
			ps.readThrough = msgs[len(msgs)-1].ID
		}
		if len(msgs) == s.cfg.BacklogWindow {
			// A full window: wait for the client's acknowledgement.
			ps.waitAck = ps.sentThrough
			s.mu.Unlock()
			return
		}
		if ps.overflow {
			ps.overflow = false
			after = ps.sentThrough
			if s.cl != nil {
				after = u.acked // dropped ids may lie below what was read
			}
			s.mu.Unlock()
			continue
		}
		for _, m := range ps.pending {
			s.offerLocked(ps, m.id, m.data, &s.stats.delivered)
		}
		ps.pending = nil
		ps.syncing = false
		ps.readThrough = 0
		s.mu.Unlock()
		return
	}
}

// loadUser reads the user's friends, stored status and cursor, once per
// online period, and publishes the user's presence to friends.
func (s *Service) loadUser(ctx context.Context, ps *peerState) error {
	u := ps.user
	for {
		s.mu.Lock()
		loaded, gen := u.loaded, u.gen
		s.mu.Unlock()
		if loaded {
			return nil
		}
		friends, err := s.st.FriendIDs(ctx, u.id)
		if err != nil {
			return err
		}
		st, err := s.st.Status(ctx, u.id)
		if err != nil {
			return err
		}
		cur, err := s.st.Cursor(ctx, u.id)
		if err != nil {
			return err
		}
		now := s.cfg.Now()
		s.mu.Lock()
		if u.gen != gen {
			s.mu.Unlock()
			continue // a friendship changed meanwhile: read again
		}
		if !u.loaded {
			u.friends = make(map[string]struct{}, len(friends))
			for _, f := range friends {
				u.friends[f] = struct{}{}
				if s.cl != nil {
					s.cl.fanLocked(f, u.id, true)
				}
			}
			u.acked = max(u.acked, cur, s.ackDirty[u.id])
			u.pres.away, u.pres.text = st.Away, st.Text
			u.pres.settle(now, s.timing())
			u.loaded = true
			if u.pres.shown != frame.PresenceOffline {
				s.publishLocked(u)
			}
		}
		s.mu.Unlock()
		return nil
	}
}
