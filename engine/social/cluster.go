package social

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Social across nodes (docs/CLUSTER.md, "Social across nodes"). With a
// Broker in Config, the nodes of a cluster share one Store and reach each
// other's sessions through the broker:
//
//   - <prefix>.u.<user>: what a user's sessions must see (messages,
//     friend and group events, call states, signals, a status set on
//     another node). A node subscribes while the user is in its hub,
//     before the session's backlog is read from the store, so a message
//     stored after that read is published to a subscribed node.
//   - <prefix>.presence: every node's view of its own users' presence;
//     every node keeps the table and shows friends the best of all nodes
//     (presence per user and node, aggregated where it is shown).
//   - <prefix>.n.<node>: requests to a node (calls it owns) and replies.
//
// Every payload is one envelope (a msgpack array, envelope below) with
// the frame bytes the sessions get inside, encoded once.
//
// Delivery: a message is stored before it is published (and before the
// sender's MessageSent), then delivered to local sessions and published
// once per recipient. A session is sent each message id once (peerState.
// seen), whichever path brings it (live, backlog, resync). Messages from
// one node to one user arrive in id order (one publisher, one subject);
// messages from different nodes may arrive out of id order. So in a
// cluster an acknowledgement moves the durable cursor only after
// Config.ClusterSettle and only over ids this node delivered to the user,
// checked against the store (settleAcks): an id the cursor would skip
// over (not yet committed by another node, or lost by the broker) is
// sent to the user's sessions from the store instead (resync).

// Broker is what the social service needs of a message bus to reach the
// users of other nodes (natsbroker adapts a NATS connection).
type Broker interface {
	// Publish sends data on subject without waiting for delivery. An
	// error means it was not sent.
	Publish(subject string, data []byte) error
	// Subscribe registers interest in subject and returns once the bus
	// holds it: what is published after it returns reaches h. Every h of
	// one Broker runs on one goroutine, in the order the bus delivers.
	// h is given the subject the data was published on.
	Subscribe(subject string, h func(subject string, data []byte)) (unsubscribe func(), err error)
}

// Envelope kinds.
const (
	envMessage  uint8 = 1 // u.<user>: a stored message (ID, Data: the Message frame); the user is the subject's
	envFrame    uint8 = 2 // u.<user> or n.<node>: Data pushed to the user's sessions (Session: only that one)
	envRelation uint8 = 3 // u.<user>: the user's relation with Other changed (Flag: now friends); Data: the FriendUpdate
	envStatus   uint8 = 4 // u.<user>: the user set presence P and Text on another node
	envPresence uint8 = 5 // presence: node Node shows User as P, Text, Seen (Flag: Node holds no session of User, only its grace)
	envSync     uint8 = 6 // presence: node Node asks every node to announce its users again
	envCallReq  uint8 = 7 // n.<owner>: Op on call ID by User's Session on Node; reply to Token
	envCallRep  uint8 = 8 // n.<node>: the answer to Token: Code (0: done)
	envCall     uint8 = 9 // u.<user>: call ID owned by Node changed; Data: the CallUpdate; Other: callee's node
	envMax            = envCall
)

// Call operations routed to the call's owner node.
const (
	callOpAccept uint8 = 1
	callOpEnd    uint8 = 2
	callOpClosed uint8 = 3 // the accepting session closed
)

// maxEnvelope bounds an envelope read from the bus (a frame plus a few
// ids fits well within).
const maxEnvelope = 64 << 10

// envelope is one broker payload: [kind, node, user, id, data, other,
// flag, p, text, seen_us, session, token, op, code] (encodeEnvelope).
type envelope struct {
	K       uint8
	Node    string // the publishing node
	User    string
	ID      uint64 // message, group or call id
	Data    []byte // frame bytes for the sessions
	Other   string
	Flag    bool
	P       frame.Presence
	Text    string
	Seen    int64
	Session uint64
	Token   uint64
	Op      uint8
	Code    uint16
}

// clusterCounters count the broker traffic.
type clusterCounters struct {
	published atomic.Uint64 // envelopes published
	overflow  atomic.Uint64 // envelopes dropped: the outbound queue was full
	received  atomic.Uint64 // envelopes received from other nodes
	dropped   atomic.Uint64 // envelopes refused: too large, malformed or of an unknown kind
	errors    atomic.Uint64 // publishes and subscriptions the broker refused
	resyncs   atomic.Uint64 // sessions sent their inbox again from the store
	held      atomic.Uint64 // acknowledgements held back because the store had an id the node never delivered
}

// ClusterStats is the broker traffic's counters (zero on a single node).
type ClusterStats struct {
	Node      string `json:"node,omitempty"`
	Published uint64 `json:"published"`
	Overflow  uint64 `json:"overflow"` // dropped: the outbound queue was full
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped"`
	Errors    uint64 `json:"errors"`
	Resyncs   uint64 `json:"resyncs"`
	Held      uint64 `json:"held"`
	// RemoteUsers is the users other nodes show online or away;
	// RemoteCalls the calls other nodes own with a party here.
	RemoteUsers int `json:"remote_users"`
	// RemoteIdle is the (user, node) pairs another node shows only
	// within the presence grace: no session of the user there.
	RemoteIdle  int `json:"remote_idle"`
	RemoteCalls int `json:"remote_calls"`
}

// cluster is the Service's cross-node state (nil on a single node).
type cluster struct {
	b      Broker
	node   string
	prefix string
	settle time.Duration
	stats  clusterCounters

	outMu   sync.Mutex    // guards out
	out     []outbound    // envelopes waiting for sender
	outWake chan struct{} // capacity 1

	subsMu sync.Mutex        // serialises subscribes; guards subs; taken before Service.mu
	subs   map[string]func() // user id -> unsubscribe
	own    []func()          // the node's own subscriptions

	// Guarded by Service.mu:
	remote map[string]map[string]remotePresence // user -> node -> what that node shows
	idle   int                                  // entries of remote with idle set
	shown  map[string]view                      // user -> what local fans were last shown
	fans   map[string]map[string]struct{}       // user -> local loaded users who have them as friend
	rcalls map[uint64]*remoteCall               // calls owned by another node with a local party

	replyMu sync.Mutex
	token   uint64
	replies map[uint64]chan uint16
}

type remotePresence struct {
	p    frame.Presence
	text string
	seen int64
	idle bool // the node holds no session of the user (its presence grace)
}

// view is what friends are shown of a user.
type view struct {
	p    frame.Presence
	text string
	seen int64
}

// remoteCall is a call owned by another node, known here because a local
// user is a party of it.
type remoteCall struct {
	owner      string
	caller     string
	callee     string
	callerSess uint64
	calleeSess uint64
	calleeNode string
	state      frame.CallState
	at         time.Time // when this node last heard of it
	data       []byte    // its last CallUpdate, for a session that opens here
}

func newCluster(cfg *Config) *cluster {
	if cfg.Broker == nil {
		return nil
	}
	return &cluster{
		b: cfg.Broker, node: cfg.NodeID, prefix: cfg.ClusterPrefix, settle: cfg.ClusterSettle,
		subs: map[string]func(){}, remote: map[string]map[string]remotePresence{}, shown: map[string]view{},
		fans: map[string]map[string]struct{}{}, rcalls: map[uint64]*remoteCall{},
		replies: map[uint64]chan uint16{}, outWake: make(chan struct{}, 1),
	}
}

// token names a user or node in a subject: ids made of letters, digits,
// '-' and '_' as they are, anything else hex-encoded behind '~'.
func token(id string) string {
	for i := 0; i < len(id); i++ {
		c := id[i]
		word := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !word {
			return "~" + hex.EncodeToString([]byte(id))
		}
	}
	if id == "" {
		return "~"
	}
	return id
}

// subjectUser is the user id of a user subject.
func (c *cluster) subjectUser(subject string) (string, bool) {
	pre := c.prefix + ".u."
	if len(subject) <= len(pre) || subject[:len(pre)] != pre {
		return "", false
	}
	t := subject[len(pre):]
	if t[0] != '~' {
		return t, true
	}
	b, err := hex.DecodeString(t[1:])
	return string(b), err == nil
}

func (c *cluster) userSubject(uid string) string  { return c.prefix + ".u." + token(uid) }
func (c *cluster) nodeSubject(node string) string { return c.prefix + ".n." + token(node) }
func (c *cluster) presenceSubject() string        { return c.prefix + ".presence" }

// publish sends e (from this node) on subject, counting the outcome.
func (c *cluster) publish(subject string, e *envelope) {
	e.Node = c.node
	c.publishRaw(subject, encodeEnvelope(e))
}

// publishRaw queues data for subject. The queue is the cluster's one
// way out (sender drains it in order), so that no lock of the service is
// held across a write to the broker; when it holds maxOutbound envelopes
// the newcomer is dropped and counted (a message is in the store all the
// same: the settle check sends it).
func (c *cluster) publishRaw(subject string, data []byte) {
	c.outMu.Lock()
	if len(c.out) >= maxOutbound {
		c.outMu.Unlock()
		c.stats.overflow.Add(1)
		return
	}
	c.out = append(c.out, outbound{subject, data})
	c.outMu.Unlock()
	select {
	case c.outWake <- struct{}{}:
	default:
	}
}

// maxOutbound bounds the envelopes waiting for the broker.
const maxOutbound = 1 << 16

type outbound struct {
	subject string
	data    []byte
}

// sender publishes the queued envelopes in order until ctx ends, then
// what is left. Run runs it.
func (c *cluster) sender(ctx context.Context) {
	var batch []outbound
	for {
		c.outMu.Lock()
		q := c.out
		c.out = batch[:0]
		c.outMu.Unlock()
		for i, o := range q {
			if err := c.b.Publish(o.subject, o.data); err != nil {
				c.stats.errors.Add(1)
			} else {
				c.stats.published.Add(1)
			}
			q[i] = outbound{}
		}
		batch = q
		if len(q) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			c.outMu.Lock()
			left := len(c.out)
			c.outMu.Unlock()
			if left == 0 {
				return
			}
		case <-c.outWake:
		}
	}
}

// startCluster subscribes the node's own subjects and asks the other
// nodes for their users' presence. Run calls it.
func (s *Service) startCluster() error {
	err := s.subscribeOwn()
	s.cl.publish(s.cl.presenceSubject(), &envelope{K: envSync})
	return err
}

// subscribeOwn subscribes the node's own subjects unless it holds them
// (BrokerReconnected calls it again after a failed start).
func (s *Service) subscribeOwn() error {
	c := s.cl
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	if len(c.own) > 0 {
		return nil
	}
	for _, subj := range []string{c.presenceSubject(), c.nodeSubject(c.node)} {
		unsub, err := c.b.Subscribe(subj, s.onBroker)
		if err != nil {
			c.stats.errors.Add(1)
			for _, u := range c.own {
				u()
			}
			c.own = nil
			return err
		}
		c.own = append(c.own, unsub)
	}
	return nil
}

// stopCluster drops every subscription. Run calls it when it ends.
func (s *Service) stopCluster() {
	c := s.cl
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for uid, unsub := range c.subs {
		unsub()
		delete(c.subs, uid)
	}
	for _, unsub := range c.own {
		unsub()
	}
	c.own = nil
}

// subscribeUser makes sure the node receives what is published for uid,
// before the caller reads uid's inbox from the store.
func (s *Service) subscribeUser(uid string) {
	c := s.cl
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	if c.subs[uid] != nil {
		return
	}
	unsub, err := c.b.Subscribe(c.userSubject(uid), s.onBroker)
	if err != nil {
		// The session works node-local; BrokerReconnected resubscribes
		// and resyncs.
		c.stats.errors.Add(1)
		s.log.Warn("social: subscribe", "user", uid, "err", err)
		return
	}
	c.subs[uid] = unsub
}

// unsubscribeGone drops the subscriptions of users that left the hub
// (unless one came back meanwhile).
func (s *Service) unsubscribeGone(uids []string) {
	c := s.cl
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for _, uid := range uids {
		s.mu.Lock()
		back := s.online[uid] != nil
		s.mu.Unlock()
		if unsub := c.subs[uid]; unsub != nil && !back {
			unsub()
			delete(c.subs, uid)
		}
	}
}

// BrokerReconnected tells the service its broker connection came back
// after an outage: what other nodes published meanwhile may be lost, so
// every session is sent its inbox again from the store (ids it already
// has are skipped), the users' subscriptions are made again and the
// presence table is asked for again. The assembly calls it from the
// broker's reconnect notification.
func (s *Service) BrokerReconnected() {
	c := s.cl
	if c == nil {
		return
	}
	if err := s.subscribeOwn(); err != nil {
		s.log.Warn("social: broker subscriptions", "err", err)
	}
	s.mu.Lock()
	uids := make([]string, 0, len(s.online))
	for uid := range s.online {
		uids = append(uids, uid)
	}
	s.mu.Unlock()
	c.subsMu.Lock()
	for _, uid := range uids {
		if c.subs[uid] == nil {
			c.subsMu.Unlock()
			s.subscribeUser(uid)
			c.subsMu.Lock()
		}
	}
	c.subsMu.Unlock()
	s.mu.Lock()
	// The owners announce their calls again (envSync): what ended
	// meanwhile is forgotten.
	clear(c.rcalls)
	for _, u := range s.online {
		for _, ps := range u.peers {
			s.resyncLocked(ps)
		}
		if u.loaded {
			s.announceLocked(u)
		}
	}
	s.mu.Unlock()
	c.publish(c.presenceSubject(), &envelope{K: envSync})
}

// NodeGone tells the service that node left the cluster (the membership
// saw it die or leave): its users' presence is dropped (friends see them
// offline unless another node holds them) and the calls it owned end.
func (s *Service) NodeGone(node string) {
	c := s.cl
	if c == nil || node == c.node {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for uid, nodes := range c.remote {
		if rp, ok := nodes[node]; ok {
			if rp.idle {
				c.idle--
			}
			delete(nodes, node)
			if len(nodes) == 0 {
				delete(c.remote, uid)
			}
			s.refreshLocked(uid)
			// A ringing call this node owns whose callee had sessions
			// only there ends now, as when their last session closes.
			s.calleeGoneLocked(uid, now)
		}
	}
	for id, rc := range c.rcalls {
		if rc.owner != node {
			continue
		}
		delete(c.rcalls, id)
		up := frame.CallUpdate{CallID: id, State: frame.CallEnded, Reason: frame.CallEndDisconnected,
			CallerID: rc.caller, CalleeID: rc.callee, CallerSession: rc.callerSess, CalleeSession: rc.calleeSess, TimeUs: now.UnixMicro()}
		if b, err := frame.Marshal(&up); err == nil {
			s.sendUserLocked(rc.caller, b)
			s.sendUserLocked(rc.callee, b)
		}
	}
	// Calls owned here whose accepting session was on that node.
	for _, cl := range s.calls.calls {
		if cl.calleeNode == node {
			s.calls.finish(now, cl, frame.CallEndDisconnected, "")
			s.endedLocked(cl)
		}
	}
}

// NodeUp tells the service that node joined the cluster (or came back
// after it was declared gone): every node is asked to announce its
// users' presence again, so the table holds the newcomer's and the
// newcomer holds everyone's.
func (s *Service) NodeUp(node string) {
	if c := s.cl; c != nil && node != c.node {
		c.publish(c.presenceSubject(), &envelope{K: envSync})
	}
}

// onBroker handles one envelope from the bus (the broker's goroutine).
func (s *Service) onBroker(subject string, data []byte) {
	c := s.cl
	e, err := decodeEnvelope(data)
	if err != nil {
		c.stats.dropped.Add(1)
		s.log.Debug("social: bad envelope", "err", err)
		return
	}
	if e.Node == c.node {
		return // our own publish, back from a subject we also listen to
	}
	c.stats.received.Add(1)
	switch e.K {
	case envMessage:
		uid, ok := c.subjectUser(subject)
		if !ok {
			c.stats.dropped.Add(1)
			return
		}
		s.mu.Lock()
		s.deliverLocked(e.ID, e.Data, []string{uid}, 0)
		s.mu.Unlock()
	case envFrame:
		s.mu.Lock()
		s.pushRemoteLocked(e)
		s.mu.Unlock()
	case envRelation:
		s.mu.Lock()
		if u := s.online[e.User]; u != nil {
			s.relationSideLocked(u, e.Other, e.Flag)
		}
		s.sendUserLocked(e.User, e.Data)
		s.mu.Unlock()
	case envStatus:
		now := s.cfg.Now()
		s.mu.Lock()
		if u := s.online[e.User]; u != nil && u.pres.set(now, s.timing(), e.P, e.Text) {
			s.publishLocked(u)
		}
		s.mu.Unlock()
	case envPresence:
		now := s.cfg.Now()
		s.mu.Lock()
		s.remotePresenceLocked(e.User, e.Node, remotePresence{p: e.P, text: e.Text, seen: e.Seen, idle: e.Flag})
		if e.Flag || e.P == frame.PresenceOffline {
			s.calleeGoneLocked(e.User, now)
		}
		s.mu.Unlock()
	case envSync:
		s.mu.Lock()
		for _, u := range s.online {
			if u.loaded {
				s.announceLocked(u)
			}
		}
		for _, cl := range s.calls.calls {
			if b := s.encodeCall(cl, 0); b != nil {
				s.publishCallLocked(cl, b) // the calls this node owns, to the parties' nodes
			}
		}
		s.mu.Unlock()
	case envCallReq:
		s.callRequest(e)
	case envCallRep:
		c.replyMu.Lock()
		ch := c.replies[e.Token]
		delete(c.replies, e.Token)
		c.replyMu.Unlock()
		if ch != nil {
			ch <- e.Code
		}
	case envCall:
		s.mu.Lock()
		s.remoteCallLocked(e)
		s.mu.Unlock()
	}
}

// pushRemoteLocked sends a pushed frame to the user's sessions here (or
// to one session).
func (s *Service) pushRemoteLocked(e envelope) {
	if e.Session != 0 {
		tp := s.peers[e.Session]
		if tp != nil && !tp.closed && (e.User == "" || tp.p.UserID() == e.User) {
			if s.sendLocked(tp.p, e.Data) {
				s.sig.recipients.Add(1)
			}
		}
		return
	}
	for _, tp := range s.signalTargetsLocked(e.User, 0) {
		s.sendLocked(tp.p, e.Data)
	}
}

// ---- messages ----

// publishMessage publishes a stored message for the recipients' other
// nodes (under writeMu, so one node's messages leave in id order). The
// envelope is encoded once: the recipient rides in the subject.
func (s *Service) publishMessage(id uint64, data []byte, recipients []string) {
	c := s.cl
	b := encodeEnvelope(&envelope{K: envMessage, Node: c.node, ID: id, Data: data})
	for _, uid := range recipients {
		c.publishRaw(c.userSubject(uid), b)
	}
}

// publishFrame publishes frame bytes for every session of users on the
// other nodes.
func (s *Service) publishFrame(data []byte, users ...string) {
	for _, uid := range users {
		s.cl.publish(s.cl.userSubject(uid), &envelope{K: envFrame, User: uid, Data: data})
	}
}

// ---- presence ----

// announceLocked publishes what this node shows of u.
func (s *Service) announceLocked(u *userState) {
	s.cl.publish(s.cl.presenceSubject(), &envelope{K: envPresence, User: u.id, P: u.pres.shown, Text: u.pres.shownText,
		Seen: u.pres.lastSeen.UnixMicro(), Flag: len(u.peers) == 0})
}

// remotePresenceLocked records what node shows of uid.
func (s *Service) remotePresenceLocked(uid, node string, rp remotePresence) {
	c := s.cl
	nodes := c.remote[uid]
	if nodes[node].idle {
		c.idle--
	}
	if rp.p == frame.PresenceOffline {
		if nodes == nil {
			return
		}
		delete(nodes, node)
		if len(nodes) == 0 {
			delete(c.remote, uid)
		}
	} else {
		if nodes == nil {
			nodes = map[string]remotePresence{}
			c.remote[uid] = nodes
		}
		nodes[node] = rp
		if rp.idle {
			c.idle++
		}
	}
	s.refreshLocked(uid)
}

// viewLocked is what friends see of uid: the best presence any node
// shows (online, then away, then offline), its status text, and the
// latest last-seen time; known says whether any node holds the user.
func (s *Service) viewLocked(uid string) (view, bool) {
	p, text, seen, known := s.localPresenceLocked(uid)
	v := view{p: p, text: text, seen: seen}
	for _, rp := range s.cl.remote[uid] {
		known = true
		if rank(rp.p) > rank(v.p) {
			v.p, v.text = rp.p, rp.text
		}
		v.seen = max(v.seen, rp.seen)
	}
	if v.p == frame.PresenceOffline {
		v.text = ""
	}
	return v, known
}

func rank(p frame.Presence) int {
	switch p {
	case frame.PresenceOnline:
		return 2
	case frame.PresenceAway:
		return 1
	}
	return 0
}

// refreshLocked pushes uid's presence to its local fans if what they see
// changed.
func (s *Service) refreshLocked(uid string) {
	c := s.cl
	v, _ := s.viewLocked(uid)
	old := c.shown[uid]
	if v.p == old.p && v.text == old.text {
		return
	}
	if v.p == frame.PresenceOffline {
		delete(c.shown, uid)
	} else {
		c.shown[uid] = v
	}
	fans := c.fans[uid]
	if len(fans) == 0 {
		return
	}
	s.stats.presencePushes.Add(1)
	b, err := frame.Marshal(&frame.PresenceUpdate{UserID: uid, Presence: v.p, StatusText: v.text, LastSeenUs: v.seen})
	if err != nil {
		s.log.Error("social: encode presence", "err", err)
		return
	}
	for f := range fans {
		s.sendUserLocked(f, b)
	}
}

// fanLocked records (add) or forgets that local user fan has friend as
// a friend.
func (c *cluster) fanLocked(friend, fan string, add bool) {
	m := c.fans[friend]
	if add {
		if m == nil {
			m = map[string]struct{}{}
			c.fans[friend] = m
		}
		m[fan] = struct{}{}
		return
	}
	delete(m, fan)
	if len(m) == 0 {
		delete(c.fans, friend)
	}
}

// ---- calls ----

// request sends a call operation to the call's owner node and waits for
// its answer (bounded by ctx).
func (s *Service) callRemote(ctx context.Context, owner string, e *envelope) error {
	c := s.cl
	ch := make(chan uint16, 1)
	c.replyMu.Lock()
	c.token++
	e.Token = c.token
	c.replies[e.Token] = ch
	c.replyMu.Unlock()
	defer func() {
		c.replyMu.Lock()
		delete(c.replies, e.Token)
		c.replyMu.Unlock()
	}()
	e.K = envCallReq
	c.publish(c.nodeSubject(owner), e)
	select {
	case code := <-ch:
		if code == 0 {
			return nil
		}
		return codeErr(netcode.Code(code))
	case <-ctx.Done():
		return &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "the call's node did not answer", Err: ctx.Err()}
	}
}

// codeErr maps a call refusal's code back to its error.
func codeErr(code netcode.Code) error {
	for _, e := range []*netcode.CodedError{ErrCallNotFound, ErrCallAnswered, ErrCallBusy, ErrInCall, ErrUserOffline} {
		if e.Code == code {
			return e
		}
	}
	return &netcode.CodedError{Code: code, Msg: "refused by the call's node"}
}

// callRequest performs a call operation another node routed here (the
// call's owner) and answers it.
func (s *Service) callRequest(e envelope) {
	now := s.cfg.Now()
	s.mu.Lock()
	var err error
	switch e.Op {
	case callOpAccept:
		var cl *call
		cl, err = s.calls.accept(now, e.User, e.Session, e.ID)
		if err == nil {
			cl.calleeNode = e.Node
			s.callStat.answered.Add(1)
			s.pushCallLocked(cl, 0)
		}
	case callOpEnd:
		var cl *call
		cl, err = s.calls.end(now, e.User, e.ID)
		if err == nil {
			s.endedLocked(cl)
		}
	case callOpClosed:
		if cl := s.calls.calls[e.ID]; cl != nil && cl.calleeNode == e.Node && cl.calleeSess == e.Session {
			s.calls.finish(now, cl, frame.CallEndDisconnected, "")
			s.endedLocked(cl)
		}
	}
	if err != nil {
		err = s.countCallRefusal(err)
	}
	s.mu.Unlock()
	var code uint16
	if err != nil {
		code = uint16(netcode.CodeOf(err))
	}
	s.cl.publish(s.cl.nodeSubject(e.Node), &envelope{K: envCallRep, Token: e.Token, Code: code})
}

// remoteCallLocked records a call state another node published and shows
// it to the user's sessions here.
func (s *Service) remoteCallLocked(e envelope) {
	c := s.cl
	var up frame.CallUpdate
	if err := frame.Unmarshal(e.Data, &up); err != nil {
		c.stats.dropped.Add(1)
		return
	}
	if old := c.rcalls[up.CallID]; old != nil && old.state == up.State && old.calleeSess == up.CalleeSession &&
		up.State != frame.CallEnded && old.owner == e.Node {
		old.at = s.cfg.Now()
		return // announced again (envSync): the sessions have it
	}
	if up.State == frame.CallEnded {
		delete(c.rcalls, up.CallID)
	} else if len(c.rcalls) < s.cfg.MaxCalls || c.rcalls[up.CallID] != nil {
		c.rcalls[up.CallID] = &remoteCall{owner: e.Node, caller: up.CallerID, callee: up.CalleeID,
			callerSess: up.CallerSession, calleeSess: up.CalleeSession, calleeNode: e.Other, state: up.State, at: s.cfg.Now(), data: e.Data}
	}
	s.sendUserLocked(e.User, e.Data)
}

// publishCallLocked publishes c's state for both parties' other nodes.
func (s *Service) publishCallLocked(c *call, data []byte) {
	node := c.calleeNode
	if node == "" {
		node = s.cl.node
	}
	for _, uid := range [2]string{c.caller, c.callee} {
		s.cl.publish(s.cl.userSubject(uid), &envelope{K: envCall, User: uid, ID: c.id, Data: data, Other: node})
	}
}

// expireRemoteCallsLocked forgets the remote calls still ringing past
// the ring timeout (their end was lost): the owner ends them by then.
func (s *Service) expireRemoteCallsLocked(now time.Time) {
	if s.cl == nil {
		return
	}
	for id, rc := range s.cl.rcalls {
		if rc.state == frame.CallRinging && now.Sub(rc.at) > s.cfg.RingTimeout+s.cfg.TickInterval {
			delete(s.cl.rcalls, id)
		}
	}
}

// ---- envelope codec ----

var errEnvelope = errors.New("social: bad envelope")

// encodeEnvelope encodes e as a msgpack array of 14 fields.
func encodeEnvelope(e *envelope) []byte {
	var buf bytes.Buffer
	buf.Grow(32 + len(e.Data) + len(e.Node) + len(e.User) + len(e.Other) + len(e.Text))
	enc := msgpack.NewEncoder(&buf)
	_ = enc.EncodeArrayLen(14)
	_ = enc.EncodeUint8(e.K)
	_ = enc.EncodeString(e.Node)
	_ = enc.EncodeString(e.User)
	_ = enc.EncodeUint64(e.ID)
	_ = enc.EncodeBytes(e.Data)
	_ = enc.EncodeString(e.Other)
	_ = enc.EncodeBool(e.Flag)
	_ = enc.EncodeUint8(uint8(e.P))
	_ = enc.EncodeString(e.Text)
	_ = enc.EncodeInt64(e.Seen)
	_ = enc.EncodeUint64(e.Session)
	_ = enc.EncodeUint64(e.Token)
	_ = enc.EncodeUint8(e.Op)
	_ = enc.EncodeUint16(e.Code)
	return buf.Bytes()
}

// decodeEnvelope decodes an envelope of at most maxEnvelope bytes whose
// strings are ids (frame.MaxIDLen) or a status text (frame.MaxStatusText).
func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) > maxEnvelope {
		return e, fmt.Errorf("%w: %d bytes, limit %d", errEnvelope, len(b), maxEnvelope)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 14 {
		return e, fmt.Errorf("%w: not an array of 14", errEnvelope)
	}
	// raw reads a string or bytes field of at most limit bytes, checking
	// the declared length before allocating.
	raw := func(limit int) []byte {
		if err != nil {
			return nil
		}
		var n int
		if n, err = dec.DecodeBytesLen(); err != nil || n <= 0 {
			return nil
		}
		if n > limit || n > len(b) {
			err = fmt.Errorf("%w: field of %d bytes", errEnvelope, n)
			return nil
		}
		buf := make([]byte, n)
		err = dec.ReadFull(buf)
		return buf
	}
	str := func(limit int) string { return string(raw(limit)) }
	u64 := func() uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = dec.DecodeUint64()
		return v
	}
	e.K = uint8(min(u64(), 255))
	e.Node = str(frame.MaxIDLen)
	e.User = str(frame.MaxIDLen)
	e.ID = u64()
	e.Data = raw(maxEnvelope)
	e.Other = str(frame.MaxIDLen)
	if err == nil {
		e.Flag, err = dec.DecodeBool()
	}
	e.P = frame.Presence(min(u64(), 255))
	e.Text = str(frame.MaxStatusText)
	if err == nil {
		e.Seen, err = dec.DecodeInt64()
	}
	e.Session = u64()
	e.Token = u64()
	e.Op = uint8(min(u64(), 255))
	e.Code = uint16(min(u64(), 65535))
	switch {
	case err != nil:
		return envelope{}, fmt.Errorf("%w: %w", errEnvelope, err)
	case e.K == 0 || e.K > envMax:
		return envelope{}, fmt.Errorf("%w: kind %d", errEnvelope, e.K)
	case e.P > frame.PresenceAway:
		return envelope{}, fmt.Errorf("%w: presence %d", errEnvelope, e.P)
	}
	return e, nil
}

// ---- acknowledgements ----

// queueAckLocked (in a cluster) records a session's acknowledgement,
// clamped to what the session was sent; settleAcks moves the cursor once
// it has settled. It returns the clamped id.
func (s *Service) queueAckLocked(ps *peerState, upTo uint64) uint64 {
	upTo = min(upTo, ps.sentThrough)
	u := ps.user
	if upTo <= u.acked {
		return upTo
	}
	now := s.cfg.Now()
	if n := len(u.ackQ); n > 0 && upTo <= u.ackQ[n-1].id {
		return upTo
	} else if n >= maxAckQ {
		u.ackQ[n-1] = pendingAck{id: upTo, at: now} // settles a little later
		return upTo
	}
	u.ackQ = append(u.ackQ, pendingAck{id: upTo, at: now})
	return upTo
}

// maxAckQ bounds the acknowledgements one user has waiting to settle.
const maxAckQ = 64

// verifyWindow bounds the ids one settle pass reads back for a user.
const verifyWindow = 512

// settleAcks moves the cursor of every user whose acknowledgements are
// ClusterSettle old, over the ids this node delivered: it reads the
// user's inbox above the cursor from the store, and stops before an id
// the user's sessions here were never sent (another node committed it
// late, or the broker lost it). Those sessions are then sent their inbox
// again from the store (resync).
func (s *Service) settleAcks(ctx context.Context, now time.Time) {
	c := s.cl
	type cand struct {
		uid      string
		from, to uint64
	}
	var cands []cand
	ripe := now.Add(-c.settle)
	s.mu.Lock()
	for uid, u := range s.online {
		i, to := 0, uint64(0)
		for i < len(u.ackQ) && !u.ackQ[i].at.After(ripe) {
			to = max(to, u.ackQ[i].id)
			i++
		}
		if i == 0 {
			continue
		}
		u.ackQ = append(u.ackQ[:0], u.ackQ[i:]...)
		if to > u.acked {
			cands = append(cands, cand{uid, u.acked, to})
		}
	}
	s.mu.Unlock()
	for _, cd := range cands {
		msgs, err := s.st.Inbox(ctx, cd.uid, cd.from, verifyWindow)
		s.mu.Lock()
		u := s.online[cd.uid]
		if u == nil {
			s.mu.Unlock()
			continue
		}
		if err != nil {
			s.log.Warn("social: settle acks", "user", cd.uid, "err", err)
			u.ackQ = append([]pendingAck{{id: cd.to, at: ripe}}, u.ackQ...)
			s.mu.Unlock()
			continue
		}
		upTo, missing := cd.to, false
		for _, m := range msgs {
			if m.ID > cd.to {
				break
			}
			if _, ok := u.delivered[m.ID]; !ok {
				upTo, missing = m.ID-1, true
				break
			}
		}
		if !missing && len(msgs) == verifyWindow && msgs[len(msgs)-1].ID < cd.to {
			upTo = msgs[len(msgs)-1].ID
			u.ackQ = append([]pendingAck{{id: cd.to, at: ripe}}, u.ackQ...) // the rest next pass
		}
		if upTo > u.acked {
			u.acked = upTo
			s.ackDirty[cd.uid] = max(s.ackDirty[cd.uid], upTo)
			for id := range u.delivered {
				if id <= upTo {
					delete(u.delivered, id)
				}
			}
			for _, ps := range u.peers {
				for id := range ps.seen {
					if id <= upTo {
						delete(ps.seen, id)
					}
				}
			}
		}
		if missing {
			c.stats.held.Add(1)
			u.ackQ = append(u.ackQ, pendingAck{id: cd.to, at: now})
			for _, ps := range u.peers {
				s.resyncLocked(ps)
			}
		}
		s.mu.Unlock()
	}
}

// resyncLocked sends session ps its inbox again from the cursor; the ids
// it was sent are skipped.
func (s *Service) resyncLocked(ps *peerState) {
	if ps.closed || ps.user == nil {
		return
	}
	s.cl.stats.resyncs.Add(1)
	ps.syncing = true
	ps.waitAck = 0
	ps.readThrough = 0
	s.enqueueLocked(ps)
}
