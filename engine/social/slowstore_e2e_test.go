package social_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
)

// slowStore is the real SQLite store whose every write, once armed,
// takes delay: a database on a slow disk.
type slowStore struct {
	social.Store
	delay     time.Duration
	armed     atomic.Bool
	inserting chan struct{} // a message insert has started (buffered)
}

func (s *slowStore) slow() {
	if s.armed.Load() {
		time.Sleep(s.delay) // the slowness under test, not synchronisation
	}
}

func (s *slowStore) InTx(ctx context.Context, fn func(tx social.Ops) error) error {
	s.slow()
	return s.Store.InTx(ctx, fn)
}

func (s *slowStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	select {
	case s.inserting <- struct{}{}:
	default:
	}
	s.slow()
	return s.Store.InsertMessage(ctx, m)
}

func (s *slowStore) SetStatus(ctx context.Context, user string, p frame.Presence, text string) error {
	s.slow()
	return s.Store.SetStatus(ctx, user, p, text)
}

func (s *slowStore) SetLastSeen(ctx context.Context, user string, us int64) error {
	s.slow()
	return s.Store.SetLastSeen(ctx, user, us)
}

func (s *slowStore) AdvanceCursor(ctx context.Context, user string, id uint64) error {
	s.slow()
	return s.Store.AdvanceCursor(ctx, user, id)
}

func (s *slowStore) DeleteInvite(ctx context.Context, groupID uint64, user string) (bool, error) {
	s.slow()
	return s.Store.DeleteInvite(ctx, groupID, user)
}

// openStoreAt opens (and migrates) the SQLite file the server will use
// in dataDir, for a Store that wraps it.
func openStoreAt(t *testing.T, dataDir string) *social.SQLiteStore {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dataDir, server.DBFile))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) }) // after the server's shutdown
	require.NoError(t, store.Migrate(ctx, db, append(accounts.Migrations(), social.Migrations()...)))
	return social.NewSQLiteStore(db)
}

// The slow-store test: while a member's social write is stuck in
// a store whose every write takes 1 s, that member's room inputs are
// broadcast and its Pings answered promptly, over real loopback; the
// message is still stored and acknowledged afterwards.
func TestE2ESlowStoreDoesNotStallTheSession(t *testing.T) {
	const (
		writeTime = time.Second
		prompt    = 300 * time.Millisecond
	)
	dir := t.TempDir()
	slow := &slowStore{Store: openStoreAt(t, dir), delay: writeTime, inserting: make(chan struct{}, 1)}
	srv := startServer(t, dir, social.Config{Store: slow})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub)

	// Alice's second connection plays in a relay room; its handler
	// reports the sequence numbers of its own inputs as broadcast.
	ctx := ctxT(t)
	echoed := make(chan uint32, 64)
	var me atomic.Uint32
	player, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: ua.Token,
		Handler: func(m client.Message) {
			u, ok, err := client.DecodeRoomUpdate(m)
			if !ok || err != nil || u.Tick == nil {
				return
			}
			for _, in := range u.Tick.Inputs {
				if in.Member == me.Load() {
					select {
					case echoed <- in.Seq:
					default:
					}
				}
			}
		}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = player.Close() })
	rm, err := player.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 30})
	require.NoError(t, err)
	me.Store(rm.Me())

	slow.armed.Store(true)
	type result struct {
		sent frame.MessageSent
		err  error
	}
	done := make(chan result, 1)
	go func() {
		s, err := player.SendDirect(ctx, ub.UserID, "through a slow disk")
		done <- result{s, err}
	}()
	select {
	case <-slow.inserting:
	case <-ctx.Done():
		t.Fatal("the message never reached the store")
	}
	// The write is stuck for a second: the same session's pings and
	// room inputs must not wait for it.
	for i := range 5 {
		start := time.Now()
		_, err := player.Ping(ctx)
		require.NoError(t, err)
		assert.Less(t, time.Since(start), prompt, "ping %d waited for the store", i)

		start = time.Now()
		seq, err := rm.SendInput(netcode.Reliable, []byte{byte(i)})
		require.NoError(t, err)
		for got := uint32(0); got != seq; {
			select {
			case got = <-echoed:
			case <-time.After(2 * writeTime):
				t.Fatalf("input %d not broadcast", seq)
			}
		}
		assert.Less(t, time.Since(start), prompt, "input %d waited for the store", i)
	}
	select {
	case r := <-done:
		t.Fatalf("the message was answered while its write was stuck: %+v", r)
	default:
	}

	// Stored, then acknowledged, then delivered.
	r := <-done
	require.NoError(t, r.err)
	assert.NotZero(t, r.sent.ID)
	m := b.message(t)
	assert.Equal(t, r.sent.ID, m.ID)
	assert.Equal(t, "through a slow disk", m.Body)
	slow.armed.Store(false)
	msgs, _, err := b.History(ctx, 0, ua.UserID, 0, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, r.sent.ID, msgs[0].ID)
}
