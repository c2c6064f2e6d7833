package social_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/internal/pgtest"
)

// BenchmarkStoreMessages is issue 15's messages/s per node with
// PostgreSQL against SQLite: direct messages through Service.SendDirect
// (the friendship check, the durable insert, the fan-out), the recipient
// offline so that the store is what is measured. Both stores are durable
// as shipped: SQLite synchronous=FULL, PostgreSQL fsync and
// synchronous_commit on (pgtest.Durable), on the same disk. "serial" is one
// sender; "parallel" is 16 senders at once on one node; "2nodes" is two
// services (two pools) on one PostgreSQL database, 8 senders each: the
// cluster-wide insert lock (docs/CLUSTER.md, "Store") is what they share.
//
//	go test -run '^$' -bench StoreMessages -benchtime 3s ./engine/social/
func BenchmarkStoreMessages(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "social.db")
		open := func() (social.Store, accounts.Store) {
			ctx := context.Background()
			db, err := store.OpenSQLite(ctx, path)
			require.NoError(b, err)
			b.Cleanup(func() { db.Close() })
			require.NoError(b, store.Migrate(ctx, db, append(accounts.Migrations(), social.Migrations()...)))
			return social.NewSQLiteStore(db), accounts.NewSQLiteStore(db)
		}
		benchStore(b, open, false)
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.Durable(b).NewDatabase(b)
		open := func() (social.Store, accounts.Store) {
			pool := openPG(b, dsn)
			return social.NewPostgresStore(pool), accounts.NewPostgresStore(pool)
		}
		benchStore(b, open, true)
	})
}

const benchSenders = 16

func benchStore(b *testing.B, open func() (social.Store, accounts.Store), twoNodes bool) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	newService := func() *social.Service {
		st, users := open()
		svc, err := social.New(social.Config{Store: st, Users: users, MessagesPerSecond: 1e9, MessageBurst: 1 << 30,
			Now: func() time.Time { return now }})
		require.NoError(b, err)
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = svc.Run(runCtx) })
		b.Cleanup(func() { cancel(); wg.Wait() })
		return svc
	}
	svc := newService()
	_, users := open()
	type pair struct{ from, to string }
	pairs := make([]pair, benchSenders)
	for i := range pairs {
		a, err := users.CreateUser(ctx, fmt.Sprintf("s%02d", i), "", nil)
		require.NoError(b, err)
		c, err := users.CreateUser(ctx, fmt.Sprintf("r%02d", i), "", nil)
		require.NoError(b, err)
		require.NoError(b, svc.RequestFriend(ctx, now, a.ID, c.Username))
		require.NoError(b, svc.AcceptFriend(ctx, now, c.ID, a.ID))
		pairs[i] = pair{a.ID, c.ID}
	}
	body := string(make([]byte, 100))
	send := func(b *testing.B, svc *social.Service, p pair) {
		if _, _, err := svc.SendDirect(ctx, now, p.from, "sender", p.to, body); err != nil {
			b.Error(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			send(b, svc, pairs[0])
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	parallel := func(b *testing.B, nodes []*social.Service) {
		var left atomic.Int64
		left.Store(int64(b.N))
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for i, p := range pairs {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					send(b, nodes[i%len(nodes)], p)
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	}
	b.Run("parallel", func(b *testing.B) { parallel(b, []*social.Service{svc}) })
	if twoNodes {
		second := newService()
		b.Run("2nodes", func(b *testing.B) { parallel(b, []*social.Service{svc, second}) })
	}
}
