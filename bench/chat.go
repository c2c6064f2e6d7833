package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// ChatConfig configures the chat scenario. The zero value means the
// defaults.
type ChatConfig struct {
	// Transports, one run each (default kcp); kcp and tcp only (messages
	// are reliable).
	Transports []string
	// Pairs of friends exchanging direct messages (default 4).
	Pairs int
	// GroupSize is the number of members of the one group (default 8).
	GroupSize int
	// Count is the number of direct messages, and of group messages, per
	// transport (default 500).
	Count int
	// Interval paces the sends (default 5 ms); each send waits for the
	// server's store acknowledgement, so the pace is at most one per ack.
	Interval time.Duration
	// Size is the message body size in bytes (default 64, at least 32).
	Size int
	// Duration caps each phase (default 60 s).
	Duration time.Duration
	// Impairment and Seed as in EchoConfig: every user's session goes
	// through one proxy per transport (the HTTP API used for registering
	// is not impaired; on tcp only delay and jitter apply).
	Impairment Impairment
	Seed       int64
}

func (c ChatConfig) populate() (ChatConfig, error) {
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportKCP}
	}
	if err := tickwireOnly("chat", c.Transports); err != nil {
		return c, err
	}
	// Messages are reliable: an unreliable row chats over its session
	// transport (kcp-unreliable as kcp).
	c.Transports = sessionTransports(c.Transports)
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Pairs, 4)
	def(&c.GroupSize, 8)
	def(&c.Count, 500)
	def(&c.Size, 64)
	if c.Interval == 0 {
		c.Interval = 5 * time.Millisecond
	}
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if len(c.Transports) == 0 || c.Pairs < 1 || c.GroupSize < 2 || c.Count < 1 || c.Size < 32 || c.Size > 4096 || c.Interval < 0 || c.Duration <= 0 {
		return c, fmt.Errorf("%w: pairs %d group %d count %d size %d", ErrConfig, c.Pairs, c.GroupSize, c.Count, c.Size)
	}
	return c, c.Impairment.Validate()
}

// JSON is the config as the report shows it.
func (c ChatConfig) JSON() map[string]any {
	return map[string]any{
		"transports": c.Transports,
		"pairs":      c.Pairs,
		"group_size": c.GroupSize,
		"count":      c.Count,
		"interval":   c.Interval.String(),
		"size":       c.Size,
		"duration":   c.Duration.String(),
		"loss_pct":   c.Impairment.LossPct,
		"burst_len":  c.Impairment.BurstLen,
		"delay":      c.Impairment.Delay.String(),
		"jitter":     c.Impairment.Jitter.String(),
		"seed":       c.Seed,
	}
}

// chatUser is one registered user with one session.
type chatUser struct {
	name, id string
	c        *client.Client
	node     int // the cluster node its session is on (0 on one server)
	// clustered: only deliveries from a user on another node go into
	// hist; the others into local.
	clustered bool

	// Used by the client's reader goroutine (the Handler) only.
	dec *frame.Decoder
	msg frame.Message

	mu    sync.Mutex // guards hist and local: the Handler records, a phase reads
	hist  *Histogram
	local *Histogram

	got   atomic.Int64
	xnode atomic.Int64 // deliveries sent from another node
	lnode atomic.Int64 // deliveries sent from this node
}

// handle records a Message push carrying this run's marker.
func (u *chatUser) handle(base time.Time, marker string, m client.Message) {
	if m.Kind != frame.KindMessage {
		return
	}
	now := time.Since(base)
	if u.dec.Decode(m.Data, &u.msg) != nil || u.msg.FromUserID == u.id {
		return
	}
	rest, ok := strings.CutPrefix(u.msg.Body, marker)
	if !ok {
		return
	}
	ns, rest, _ := strings.Cut(rest, "|")
	from, _, _ := strings.Cut(rest, "|")
	sent, err1 := strconv.ParseInt(ns, 10, 64)
	node, err2 := strconv.Atoi(from)
	if err1 != nil || err2 != nil {
		return
	}
	cross := node != u.node
	u.mu.Lock()
	if cross || !u.clustered {
		u.hist.Record(now - time.Duration(sent))
	} else {
		u.local.Record(now - time.Duration(sent))
	}
	u.mu.Unlock()
	if cross {
		u.xnode.Add(1)
	} else {
		u.lnode.Add(1)
	}
	u.got.Add(1)
}

// RunChat registers users, makes friends of Pairs pairs and one group of
// GroupSize, then measures direct and group message delivery: from the
// send to the recipient's Message push, on the generator's clock. Rows
// are named "<transport>/direct" and "<transport>/group"; Sent counts
// expected deliveries, ack_p50_us/ack_p99_us the sender's wait for the
// server's store acknowledgement.
//
// On a cluster (Env.Nodes) user i is on node i mod N: the two users of
// every pair are on different nodes, and the group spans every node when
// it has at least N members. The rows are "<transport>/direct-xnode" and
// "<transport>/group-xnode", their latencies those of the deliveries
// that crossed nodes (the sender's node is in the body); the group's
// same-node deliveries are reported apart (same_node_p50_us).
func RunChat(ctx context.Context, env *Env, cfg ChatConfig) (*Report, error) {
	cfg, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	conf := cfg.JSON()
	conf["nodes"] = max(1, len(env.Nodes))
	rep := newReport("chat", conf)
	nodes := env.nodes(ctx, rep, cfg.Transports)
	defer env.markEncryption(rep)
	for _, t := range cfg.Transports {
		rs, err := runChatTransport(ctx, env, nodes, cfg, t)
		if err != nil {
			return rep, fmt.Errorf("bench: chat over %s: %w", t, err)
		}
		rep.Results = append(rep.Results, rs...)
	}
	noteStreamLoss(rep, cfg.Impairment, cfg.Transports)
	return rep, nil
}

func runChatTransport(ctx context.Context, env *Env, nodes []*Env, cfg ChatConfig, t string) ([]Result, error) {
	routes := make([]route, len(nodes))
	defer func() {
		for _, rt := range routes {
			rt.close()
		}
	}()
	for k, ne := range nodes {
		rt, err := openRoute(ctx, ne, t, cfg.Impairment, cfg.Seed)
		if err != nil {
			return nil, err
		}
		routes[k] = rt
	}
	note := routes[0].note
	clustered := len(nodes) > 1
	var rb [4]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, err
	}
	run := hex.EncodeToString(rb[:])
	marker := "tb" + run + ":"
	base := time.Now()
	n := 2*cfg.Pairs + cfg.GroupSize
	users := make([]*chatUser, n)
	defer func() {
		var cs []*client.Client
		for _, u := range users {
			if u != nil && u.c != nil {
				cs = append(cs, u.c)
			}
		}
		closeAll(cs, 16)
	}()
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupTimeout)
	defer cancelSetup()
	bar := env.bar(fmt.Sprintf("chat %s: users", t), int64(n))
	err := parallel(setupCtx, n, 8, func(ctx context.Context, i int) error {
		k := i % len(nodes)
		ne := nodes[k]
		u := &chatUser{name: fmt.Sprintf("tb%s_%d", run, i), node: k, clustered: clustered, dec: frame.NewDecoder(),
			hist: NewHistogram(), local: NewHistogram()}
		acct, err := ne.Target.api().Register(ctx, u.name, "tickbench-"+run)
		if err != nil {
			return fmt.Errorf("register %s: %w", u.name, limitErr(err))
		}
		u.id = acct.UserID
		o := dialOptions(ne, t, routes[k].addr, acct.Token, "tickbench-chat")
		o.Handler = func(m client.Message) { u.handle(base, marker, m) }
		c, err := dialSession(ctx, o)
		if err != nil {
			return err
		}
		u.c = c
		users[i] = u
		bar.Add(1)
		return nil
	})
	bar.Stop()
	if err != nil {
		return nil, err
	}
	pairs, group := users[:2*cfg.Pairs], users[2*cfg.Pairs:]
	// Friends: a asks, b accepts.
	err = parallel(setupCtx, cfg.Pairs, 8, func(ctx context.Context, p int) error {
		a, b := pairs[2*p], pairs[2*p+1]
		if err := a.c.RequestFriend(ctx, b.name); err != nil {
			return fmt.Errorf("friend request: %w", err)
		}
		if err := b.c.AcceptFriend(ctx, a.id); err != nil {
			return fmt.Errorf("friend accept: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	g, err := group[0].c.CreateGroup(setupCtx, "tb"+run, frame.GroupOpen)
	if err != nil {
		return nil, fmt.Errorf("create group: %w", err)
	}
	err = parallel(setupCtx, len(group)-1, 8, func(ctx context.Context, i int) error {
		return group[i+1].c.JoinGroup(ctx, g.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("join group: %w", err)
	}

	pad := strings.Repeat("x", cfg.Size)
	body := func(from *chatUser) string {
		s := marker + strconv.FormatInt(int64(time.Since(base)), 10) + "|" + strconv.Itoa(from.node) + "|"
		if len(s) < cfg.Size {
			s += pad[:cfg.Size-len(s)]
		}
		return s
	}
	direct := func(ctx context.Context, i int) error {
		a, b := pairs[2*(i%cfg.Pairs)], pairs[2*(i%cfg.Pairs)+1]
		_, err := a.c.SendDirect(ctx, b.id, body(a))
		return err
	}
	groupSend := func(ctx context.Context, i int) error {
		from := group[i%len(group)]
		_, err := from.c.SendGroup(ctx, g.ID, body(from))
		return err
	}
	var out []Result
	for _, ph := range []struct {
		kind       string
		send       func(context.Context, int) error
		recipients []*chatUser
		fanout     int
	}{
		{"direct", direct, oddUsers(pairs), 1},
		{"group", groupSend, group, len(group) - 1},
	} {
		name := t + "/" + ph.kind
		if clustered {
			name += "-xnode"
		}
		res, err := chatPhase(ctx, env, cfg, name, ph.send, ph.recipients, ph.fanout)
		if err != nil {
			return nil, err
		}
		if clustered {
			res.SetExtra("nodes", float64(len(nodes)))
		}
		res.Crosses = crossesOf(t)
		if note != "" {
			res.Note = strings.TrimPrefix(res.Note+"; "+note, "; ")
		}
		out = append(out, res)
	}
	return out, nil
}

// limitErr marks a production rate limit (registrations per address,
// messages per user) as ErrServerLimits, with the way out.
func limitErr(err error) error {
	switch netcode.CodeOf(err) {
	case netcode.CodeRateLimited, netcode.CodeMessageRateLimited:
		return fmt.Errorf("%w: %w (chat registers 2 x pairs + group-size users from one address and sends "+
			"more than 10 messages/s per user: target tickbench serve or a server with the bench limits; see docs/TICKBENCH.md)", ErrServerLimits, err)
	}
	return err
}

func oddUsers(us []*chatUser) []*chatUser {
	var out []*chatUser
	for i := 1; i < len(us); i += 2 {
		out = append(out, us[i])
	}
	return out
}

// chatPhase sends cfg.Count messages with send, paced, and waits for the
// recipients' deliveries.
func chatPhase(ctx context.Context, env *Env, cfg ChatConfig, name string, send func(context.Context, int) error,
	recipients []*chatUser, fanout int) (Result, error) {
	res := Result{Name: name, Impairment: cfg.Impairment.Label(), LossPct: cfg.Impairment.LossPct,
		DelayUs: float64(cfg.Impairment.Delay.Microseconds()), JitterUs: float64(cfg.Impairment.Jitter.Microseconds())}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	got := func() (n int64) {
		for _, u := range recipients {
			n += u.got.Load()
		}
		return n
	}
	before := got()
	ack := NewHistogram()
	bar := env.bar("chat "+name, int64(cfg.Count))
	start := time.Now()
	next := start
	sent := 0
	var sendErr error
	for i := 0; i < cfg.Count && ctx.Err() == nil; i++ {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(cfg.Interval)
		t0 := time.Now()
		if err := send(ctx, i); err != nil {
			sendErr = limitErr(err)
			break
		}
		ack.Record(time.Since(t0))
		sent++
		bar.Add(1)
	}
	bar.Stop()
	expected := int64(sent * fanout)
	waitUntil(ctx, 5*time.Second, func() bool { return got()-before >= expected })
	if sendErr != nil && sent == 0 {
		return res, sendErr
	}
	hist, local := NewHistogram(), NewHistogram()
	var xnode, lnode int64
	for _, u := range recipients {
		u.mu.Lock()
		hist.Merge(u.hist)
		local.Merge(u.local)
		u.mu.Unlock()
		xnode += u.xnode.Load()
		lnode += u.lnode.Load()
	}
	if len(recipients) > 0 && recipients[0].clustered {
		// Counted over the whole run: a phase's recipients receive only
		// that phase's messages, and each phase has its own users.
		res.SetExtra("cross_node_deliveries", float64(xnode))
		res.SetExtra("same_node_deliveries", float64(lnode))
		if local.Count() > 0 {
			res.SetExtra("same_node_p50_us", local.QuantileUs(50))
			res.SetExtra("same_node_p99_us", local.QuantileUs(99))
		}
	}
	res.Sent, res.Received = expected, got()-before
	res.DurationS = time.Since(start).Seconds()
	res.fill(hist)
	res.SetExtra("ack_p50_us", ack.QuantileUs(50))
	res.SetExtra("ack_p99_us", ack.QuantileUs(99))
	if sendErr != nil {
		res.Note = "stopped early: " + sendErr.Error()
	}
	return res, nil
}
