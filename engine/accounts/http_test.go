package accounts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/engine/store"
)

// TestRegistrationsPerClientBehindProxy: the accounts routes, served by
// the engine's HTTP handler, key their per-IP limits on the client the
// HTTP layer resolved: a forged X-Forwarded-For from an untrusted peer
// does not escape the limit; behind a trusted proxy each named client has
// its own bucket.
func TestRegistrationsPerClientBehindProxy(t *testing.T) {
	for name, tc := range map[string]struct {
		trusted   []netip.Prefix
		xffCounts bool
	}{
		"untrusted peer": {nil, false},
		"trusted proxy":  {[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
	} {
		t.Run(name, func(t *testing.T) {
			key := make([]byte, 32)
			signer, err := auth.NewSigner(key)
			require.NoError(t, err)
			db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "tickwire.db"))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			require.NoError(t, store.Migrate(context.Background(), db, accounts.Migrations()))
			svc, err := accounts.New(context.Background(), accounts.Config{
				Store:              accounts.NewSQLiteStore(db),
				Signer:             signer,
				Argon2:             accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32},
				RegistrationsPerIP: 2,
			})
			require.NoError(t, err)
			e, err := engine.New(engine.Config{TokenKey: key, TrustedProxies: tc.trusted, Services: []service.Service{svc}})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, e.Shutdown(context.Background())) })
			srv := httptest.NewServer(e.HTTPHandler())
			t.Cleanup(srv.Close)

			register := func(user, xff string) int {
				t.Helper()
				req, err := http.NewRequest("POST", srv.URL+"/v1/auth/register", strings.NewReader(`{"username":"`+user+`","password":"password123"}`))
				require.NoError(t, err)
				if xff != "" {
					req.Header.Set("X-Forwarded-For", xff)
				}
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
				return resp.StatusCode
			}
			require.Equal(t, 201, register("ann", "198.51.100.1"))
			require.Equal(t, 201, register("ben", "198.51.100.1"))
			assert.Equal(t, 429, register("cat", "198.51.100.1"), "the third from one client is refused")
			if tc.xffCounts {
				assert.Equal(t, 201, register("dan", "198.51.100.2"), "another client behind the trusted proxy")
			} else {
				assert.Equal(t, 429, register("dan", "198.51.100.2"), "a forged X-Forwarded-For changes nothing")
			}
		})
	}
}
