package accounts_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/internal/pgtest"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// kcp-go starts process-wide workers on first use that never end; they
// are not leaks of ours.
func TestMain(m *testing.M) {
	conntest.VerifyTestMain(pgtest.M(m))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bearer sends an authenticated request through the client SDK's JSON
// helper, so errors come back as *netcode.CodedError.
func bearer(t *testing.T, method, url, token string, out any) error {
	req, err := http.NewRequestWithContext(ctxT(t), method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return client.DoJSON(nil, req, out)
}

func dial(t *testing.T, srv *server.Server, transport, token string) (*client.Client, error) {
	dial := kcp.Dialer{Addr: srv.Addr(transport)}.Dial
	if transport == "tcp" {
		dial = tcp.Dialer{Addr: srv.Addr(transport)}.Dial
	}
	c, err := client.Dial(ctxT(t), client.Options{Dial: dial, Token: token})
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// TestEndToEndRegisterDialLogout registers over HTTP on a full server,
// connects over KCP and TCP with the token, logs out, and checks that the
// token is then refused by the realtime Hello (token_revoked), also after
// the server restarts on the same database.
func TestEndToEndRegisterDialLogout(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte("e"), 32)
	cfg := server.Config{DataDir: dir, Accounts: accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}}
	cfg.Engine.TokenKey = key
	srv := servertest.Start(t, cfg)

	var reg accounts.TokenResponse
	require.NoError(t, client.PostJSON(ctxT(t), nil, srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": "Zoë", "password": "zoës password", "display_name": "Zoë 🎮"}, &reg))
	var login accounts.TokenResponse
	require.NoError(t, client.PostJSON(ctxT(t), nil, srv.HTTPURL()+"/v1/auth/login",
		map[string]string{"username": "ZOË", "password": "zoës password"}, &login))
	assert.Equal(t, reg.UserID, login.UserID)

	err := client.PostJSON(ctxT(t), nil, srv.HTTPURL()+"/v1/auth/login",
		map[string]string{"username": "zoë", "password": "wrong password"}, nil)
	assert.Equal(t, netcode.CodeInvalidCredentials, netcode.CodeOf(err))

	for _, tr := range []string{"kcp", "tcp"} {
		c, err := dial(t, srv, tr, reg.Token)
		require.NoError(t, err, tr)
		assert.Equal(t, reg.UserID, c.Welcome().UserID, tr)
		assert.Equal(t, "Zoë 🎮", c.Welcome().DisplayName, tr)
		_, err = c.Ping(ctxT(t))
		require.NoError(t, err, tr)
	}

	var me accounts.MeResponse
	require.NoError(t, bearer(t, "GET", srv.HTTPURL()+"/v1/me", reg.Token, &me))
	assert.Equal(t, "Zoë", me.Username)

	require.NoError(t, bearer(t, "POST", srv.HTTPURL()+"/v1/auth/logout", reg.Token, nil))
	for _, tr := range []string{"kcp", "tcp"} {
		c, err := dial(t, srv, tr, reg.Token)
		require.Error(t, err, tr)
		assert.Nil(t, c)
		assert.Equal(t, netcode.CodeTokenRevoked, netcode.CodeOf(err), "%s: %v", tr, err)
		_, err = dial(t, srv, tr, login.Token) // the user's other token still works
		require.NoError(t, err, tr)
	}
	err = bearer(t, "GET", srv.HTTPURL()+"/v1/me", reg.Token, nil)
	assert.Equal(t, netcode.CodeTokenRevoked, netcode.CodeOf(err))

	// guest tokens from the engine are accepted by the accounts API too
	g, err := client.GuestToken(ctxT(t), srv.HTTPURL(), "visitor")
	require.NoError(t, err)
	require.NoError(t, bearer(t, "GET", srv.HTTPURL()+"/v1/me", g, &me))
	assert.True(t, me.Guest)
	assert.Equal(t, "visitor", me.Name)

	// restart on the same database and key: the revocation holds
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(shut))
	srv2 := servertest.Start(t, cfg)
	_, err = dial(t, srv2, "tcp", reg.Token)
	assert.Equal(t, netcode.CodeTokenRevoked, netcode.CodeOf(err), "%v", err)
	_, err = dial(t, srv2, "kcp", login.Token)
	require.NoError(t, err)
	require.NoError(t, client.PostJSON(ctxT(t), nil, srv2.HTTPURL()+"/v1/auth/login",
		map[string]string{"username": "zoë", "password": "zoës password"}, &login))
}
