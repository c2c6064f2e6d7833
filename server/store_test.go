package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// pgConfig is a server on the PostgreSQL database dsn, with its own
// (empty) data directory and cheap password hashing.
func pgConfig(t *testing.T, dsn string) server.Config {
	return server.Config{
		Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}},
		HTTPAddr:   servertest.Loopback, DataDir: t.TempDir(), StoreDSN: dsn,
		Accounts: accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}},
	}
}

// A server on PostgreSQL: register, log in, send a direct message over
// TCP; after a restart with a new, empty data directory (so nothing came
// from SQLite or a key file) the old token still opens a session, the
// message is delivered to the recipient, and both see it in the history.
func TestPostgresStoreSurvivesRestart(t *testing.T) {
	ctx := ctxT(t)
	dsn := pgtest.DB(t)
	srv, err := server.Start(ctx, pgConfig(t, dsn))
	require.NoError(t, err)
	_, err = client.Register(ctx, srv.HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)
	bob, err := client.Register(ctx, srv.HTTPURL(), "bob", "correct horse battery")
	require.NoError(t, err)
	ann, err := client.Login(ctx, srv.HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)

	dial := func(srv *server.Server, token string, h func(client.Message)) *client.Client {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: token, Handler: h})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := dial(srv, ann.Token, nil)
	b := dial(srv, bob.Token, nil)
	require.NoError(t, a.RequestFriend(ctx, "bob"))
	require.NoError(t, b.AcceptFriend(ctx, ann.UserID))
	require.NoError(t, b.Close())
	sent, err := a.SendDirect(ctx, bob.UserID, "stored in postgres")
	require.NoError(t, err)
	require.NotZero(t, sent.ID)
	require.NoError(t, a.Close())
	require.NoError(t, srv.Shutdown(ctx))

	srv, err = server.Start(ctx, pgConfig(t, dsn))
	require.NoError(t, err)
	defer srv.Shutdown(ctx) //nolint:errcheck // the test's own cleanup
	got := make(chan frame.Message, 4)
	b = dial(srv, bob.Token, func(m client.Message) {
		if f, ok, err := client.DecodeSocial(m); ok && err == nil {
			if msg, ok := f.(*frame.Message); ok {
				got <- *msg
			}
		}
	})
	select {
	case m := <-got:
		assert.Equal(t, sent.ID, m.ID)
		assert.Equal(t, "stored in postgres", m.Body)
		assert.Equal(t, ann.UserID, m.FromUserID)
	case <-ctx.Done():
		t.Fatal("the stored message was not delivered after the restart")
	}
	hist, _, err := b.History(ctx, 0, ann.UserID, 0, 10)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, sent.ID, hist[0].ID)
	a = dial(srv, ann.Token, nil) // the token signed before the restart
	assert.Equal(t, "ann", a.Welcome().DisplayName)
}

// Two nodes on one PostgreSQL database share the login attempts of a
// user: the budget spent on one node is gone on the other.
func TestPostgresLoginLimitAcrossNodes(t *testing.T) {
	ctx := ctxT(t)
	dsn := pgtest.DB(t)
	cfg := pgConfig(t, dsn)
	cfg.Accounts.LoginAttemptsPerUser = 4
	cfg.Accounts.LoginAttemptsPerIP = 1000
	cfg.Engine.GuestsPerIP = 3
	nodes := []*server.Server{servertest.Start(t, cfg), servertest.Start(t, cfg)}
	_, err := client.Register(ctx, nodes[0].HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)
	for i := range 4 {
		_, err := client.Login(ctx, nodes[i%2].HTTPURL(), "ann", "wrong password here")
		require.Equal(t, netcode.CodeInvalidCredentials, netcode.CodeOf(err), "attempt %d", i)
	}
	for _, n := range nodes {
		_, err := client.Login(ctx, n.HTTPURL(), "ann", "correct horse battery")
		require.Equal(t, netcode.CodeLoginRateLimited, netcode.CodeOf(err), "the budget is spent on every node")
	}
	// Guest tokens per address: 3 across both nodes.
	for i := range 3 {
		_, err := client.GuestToken(ctx, nodes[i%2].HTTPURL(), "g")
		require.NoError(t, err, "guest %d", i)
	}
	_, err = client.GuestToken(ctx, nodes[1].HTTPURL(), "g")
	require.Equal(t, netcode.CodeRateLimited, netcode.CodeOf(err))
	assert.Equal(t, uint64(1), nodes[1].Engine().Stats().HTTP.GuestRefused["rate_limited"], "the refusal is counted")
	var refused uint64
	for _, n := range nodes {
		st, ok := n.Engine().ServiceStats().Services["accounts"].(accounts.Stats)
		require.True(t, ok)
		refused += st.LoginPerUser.Refused
	}
	assert.Equal(t, uint64(2), refused, "each node counts its refusals")
}

// Nodes of one database sign with one key (read from the database):
// a token from one node opens a session on the other.
func TestPostgresNodesShareTheTokenKey(t *testing.T) {
	ctx := ctxT(t)
	dsn := pgtest.DB(t)
	a := servertest.Start(t, pgConfig(t, dsn))
	b := servertest.Start(t, pgConfig(t, dsn))
	tok, err := client.GuestToken(ctx, a.HTTPURL(), "ada")
	require.NoError(t, err)
	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: b.Addr("tcp")}.Dial, Token: tok})
	require.NoError(t, err)
	assert.Equal(t, "ada", c.Welcome().DisplayName)
	require.NoError(t, c.Close())

	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT COUNT(*) FROM server_keys`).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestStoreDSNMustBePostgres(t *testing.T) {
	cfg := pgConfig(t, "mysql://x")
	_, err := server.Start(context.Background(), cfg)
	require.ErrorIs(t, err, server.ErrBadConfig)
}

// A token logged out on one node is refused on the other within the
// revocation sync, and one token refreshed on two nodes at once gives
// one new token, not two.
func TestPostgresRevocationsAcrossNodes(t *testing.T) {
	ctx := ctxT(t)
	dsn := pgtest.DB(t)
	cfg := pgConfig(t, dsn)
	cfg.Accounts.RevocationSync = 50 * time.Millisecond
	a, b := servertest.Start(t, cfg), servertest.Start(t, cfg)
	acct, err := client.Register(ctx, a.HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)
	dialB := func(token string) error {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: b.Addr("tcp")}.Dial, Token: token})
		if err == nil {
			require.NoError(t, c.Close())
		}
		return err
	}
	require.NoError(t, dialB(acct.Token))
	bearer := map[string]string{"Authorization": "Bearer " + acct.Token}
	resp, _ := servertest.Request(t, "POST", a.HTTPURL()+"/v1/auth/logout", bearer, "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Eventually(t, func() bool {
		return netcode.CodeOf(dialB(acct.Token)) == netcode.CodeTokenRevoked
	}, 5*time.Second, 20*time.Millisecond, "node B learns node A's logout")
	resp, _ = servertest.Request(t, "GET", b.HTTPURL()+"/v1/me", bearer, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// One refresh per node of the same token, at once.
	acct, err = client.Login(ctx, b.HTTPURL(), "ann", "correct horse battery")
	require.NoError(t, err)
	bearer = map[string]string{"Authorization": "Bearer " + acct.Token}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, n := range []*server.Server{a, b} {
		wg.Go(func() {
			resp, _ := servertest.Request(t, "POST", n.HTTPURL()+"/v1/auth/refresh", bearer, "")
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusUnauthorized}, codes, "one refresh wins")
}
