package social_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// stoppingStore is the real PostgreSQL store that, once armed, stops the
// PostgreSQL server at the start of the next message insert: the insert
// then meets a database that is gone, as when PostgreSQL dies while a
// message is on its way.
type stoppingStore struct {
	social.Store
	pg    *pgtest.Server
	armed atomic.Bool
}

func (s *stoppingStore) InsertMessage(ctx context.Context, m *frame.ChatMessage) error {
	if s.armed.CompareAndSwap(true, false) {
		if err := s.pg.Stop(); err != nil {
			return err
		}
	}
	return s.Store.InsertMessage(ctx, m)
}

// A message PostgreSQL did not store is never acknowledged: the sender
// gets a coded error instead of MessageSent, and the recipient gets
// nothing.
func TestE2EPostgresDownIsNeverMessageSent(t *testing.T) {
	pg := pgtest.New(t)
	dsn := pg.NewDatabase(t)
	ctx := ctxT(t)
	pool, err := store.OpenPostgres(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := &stoppingStore{Store: social.NewPostgresStore(pool), pg: pg}
	srv := servertest.Start(t, server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		StoreDSN:   dsn,
		Accounts:   accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
		Social:     social.Config{Store: st},
	})
	ua, ub := register(t, srv, "alice"), register(t, srv, "bob")
	a, b := dial(t, srv, ua.Token), dial(t, srv, ub.Token)
	befriend(t, a, b, ua, ub)
	sent, err := a.SendDirect(ctx, ub.UserID, "stored")
	require.NoError(t, err)
	assert.Equal(t, "stored", b.message(t).Body)
	require.NotZero(t, sent.ID)

	st.armed.Store(true)
	_, err = a.SendDirect(ctx, ub.UserID, "lost with the database")
	require.Error(t, err)
	assert.Equal(t, netcode.CodeInternal, netcode.CodeOf(err), "a coded refusal: %v", err)
	assert.False(t, st.armed.Load(), "the insert was reached")
	_, err = b.Ping(ctx) // every push queued before it has arrived
	require.NoError(t, err)
	assert.Zero(t, b.count(frame.KindMessage, nil), "nothing delivered")
}
