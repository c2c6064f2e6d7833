package social

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

const waitFor = 5 * time.Second

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var sessionIDs atomic.Uint64

// testPeer is a service.Peer that records what it is sent.
type testPeer struct {
	sid   uint64
	uid   string
	name  string
	guest bool
	limit int // refuse Send beyond this many unread frames (0: 100000)

	mu     sync.Mutex
	frames [][]byte
	used   []bool
	closed netcode.Code
	notify chan struct{}
}

func newPeer(uid, name string) *testPeer {
	return &testPeer{sid: sessionIDs.Add(1), uid: uid, name: name, notify: make(chan struct{}, 1)}
}

func (p *testPeer) SessionID() uint64   { return p.sid }
func (p *testPeer) UserID() string      { return p.uid }
func (p *testPeer) DisplayName() string { return p.name }
func (p *testPeer) Guest() bool         { return p.guest }
func (p *testPeer) Send(ch netcode.Channel, b []byte) bool {
	p.mu.Lock()
	lim := p.limit
	if lim == 0 {
		lim = 100000
	}
	if len(p.frames) >= lim {
		p.mu.Unlock()
		return false
	}
	p.frames = append(p.frames, b)
	p.used = append(p.used, false)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return true
}
func (p *testPeer) Close(code netcode.Code, reason string) {
	p.mu.Lock()
	p.closed = code
	p.mu.Unlock()
}

// take returns the first unconsumed frame of kind k (and ref, if ref >
// 0), waiting up to waitFor.
func (p *testPeer) take(t testing.TB, k frame.Kind) []byte {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		p.mu.Lock()
		for i, b := range p.frames {
			if p.used[i] {
				continue
			}
			if got, _ := frame.Peek(b); got == k {
				p.used[i] = true
				p.mu.Unlock()
				return b
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			t.Fatalf("peer %s: no frame of kind %d within %v", p.name, k, waitFor)
			return nil
		}
	}
}

// takeRef returns the first unconsumed frame answering ref (any kind),
// waiting up to waitFor.
func (p *testPeer) takeRef(t testing.TB, ref uint32) []byte {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		p.mu.Lock()
		for i, b := range p.frames {
			if _, r, _ := frame.PeekRef(b); r == ref && !p.used[i] {
				p.used[i] = true
				p.mu.Unlock()
				return b
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			t.Fatalf("peer %s: no answer to ref %d within %v", p.name, ref, waitFor)
			return nil
		}
	}
}

// count returns how many unconsumed frames of kind k the peer holds.
func (p *testPeer) count(k frame.Kind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i, b := range p.frames {
		if got, _ := frame.Peek(b); got == k && !p.used[i] {
			n++
		}
	}
	return n
}

func decodeAs[F frame.Frame](t testing.TB, b []byte, f F) F {
	t.Helper()
	require.NoError(t, frame.Unmarshal(b, f))
	return f
}

// env is a social service on a real SQLite file with registered users.
type env struct {
	t     testing.TB
	db    string
	svc   *Service
	clock *fakeClock
	users accounts.Store
	ids   map[string]string // username -> id
	stop  func()
	// cancel ends the service's Run without waiting (stop waits).
	cancel context.CancelFunc
}

func newEnv(t testing.TB, cfg Config, names ...string) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "social.db"), cfg, names...)
}

func newEnvAt(t testing.TB, path string, cfg Config, names ...string) *env {
	t.Helper()
	return newEnvStore(t, path, cfg, nil, names...)
}

// newEnvStore is newEnvAt whose service's Store is wrap(the SQLite
// store) when wrap is not nil.
func newEnvStore(t testing.TB, path string, cfg Config, wrap func(Store) Store, names ...string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, path)
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx, db, append(accounts.Migrations(), Migrations()...)))
	us := accounts.NewSQLiteStore(db)
	e := &env{t: t, db: path, clock: newClock(), users: us, ids: map[string]string{}}
	for _, n := range names {
		u, err := us.UserByName(ctx, n)
		if err != nil {
			u, err = us.CreateUser(ctx, n, n, nil)
			require.NoError(t, err)
		}
		e.ids[n] = u.ID
	}
	cfg.DB, cfg.Users = db, us
	if wrap != nil {
		cfg.Store = wrap(NewSQLiteStore(db))
	}
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	e.svc, err = New(cfg)
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(runCtx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
			require.NoError(t, db.Close())
		})
	}
	t.Cleanup(e.stop)
	return e
}

// open connects a session of user name.
func (e *env) open(name string) *testPeer {
	p := newPeer(e.ids[name], name)
	e.svc.PeerOpened(p)
	return p
}

// close ends p's session and waits until the service has applied it: a
// PeerClosed that arrives while one of p's requests is still finishing
// (its reply already sent) is applied by the request worker afterwards,
// and a fake-clock test must not advance its clock before that.
func (e *env) close(p *testPeer) {
	e.t.Helper()
	e.svc.PeerClosed(p)
	require.Eventually(e.t, func() bool {
		e.svc.mu.Lock()
		defer e.svc.mu.Unlock()
		return e.svc.peers[p.sid] == nil
	}, waitFor, time.Millisecond)
}

var nextRef atomic.Uint32

// call sends req from p and returns the reply frame's bytes, or the
// error the service answered with: at once (refused on the reader) or
// as an Error frame with the request's ref (from the user's worker).
func (e *env) call(p *testPeer, req frame.Refer) ([]byte, error) {
	e.t.Helper()
	ref := nextRef.Add(1)
	req.SetRef(ref)
	b, err := frame.Marshal(req)
	require.NoError(e.t, err)
	gotRef, err := e.svc.HandleFrame(e.clock.Now(), p, netcode.Reliable, req.Kind(), b)
	require.Equal(e.t, ref, gotRef)
	if err != nil {
		return nil, err
	}
	reply := p.takeRef(e.t, ref)
	if k, _ := frame.Peek(reply); k == frame.KindError {
		ef := decodeAs(e.t, reply, &frame.Error{})
		return nil, &netcode.CodedError{Code: ef.Code, Msg: ef.Message}
	}
	return reply, nil
}

// must is call that requires success.
func (e *env) must(p *testPeer, req frame.Refer) []byte {
	e.t.Helper()
	b, err := e.call(p, req)
	require.NoError(e.t, err)
	return b
}

// befriend makes the users of pa and pb friends (with their sessions
// open).
func (e *env) befriend(pa, pb *testPeer) {
	e.t.Helper()
	e.must(pa, &frame.FriendRequest{Username: pb.name})
	e.must(pb, &frame.FriendAccept{UserID: pa.uid})
	pa.take(e.t, frame.KindFriendUpdate)
	pa.take(e.t, frame.KindFriendUpdate)
	pb.take(e.t, frame.KindFriendUpdate)
	pb.take(e.t, frame.KindFriendUpdate)
}

// synced waits until p's backlog is caught up.
func (e *env) synced(p *testPeer) {
	e.t.Helper()
	// wall clock: every social test (the fuzzers too) builds its env and the workers it waits on outside a synctest bubble
	require.Eventually(e.t, func() bool {
		e.svc.mu.Lock()
		defer e.svc.mu.Unlock()
		ps := e.svc.peers[p.sid]
		return ps != nil && !ps.syncing && !ps.queued
	}, waitFor, time.Millisecond)
}

func (e *env) recvMessage(p *testPeer) frame.Message {
	e.t.Helper()
	return *decodeAs(e.t, p.take(e.t, frame.KindMessage), &frame.Message{})
}

func (e *env) ack(p *testPeer, id uint64) {
	e.t.Helper()
	e.must(p, &frame.MessageAck{UpToID: id})
}
