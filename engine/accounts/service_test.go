package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
)

// cheapArgon keeps tests fast; the defaults are exercised by the benchmark
// and TestDefaultParamsHash.
var cheapArgon = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

// clock is a settable clock for the rate limiter and token expiry.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	t      *testing.T
	path   string
	signer *auth.Signer
	clock  *clock
	svc    *Service
	srv    *httptest.Server
	close  func()
}

var testKey = bytes.Repeat([]byte("k"), 32)

// newFixture serves a Service on a fresh SQLite file over real HTTP. The
// client IP is read from X-Test-IP when present, so that tests can speak
// from several addresses.
func newFixture(t *testing.T, path string, mod func(*Config)) *fixture {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "tickwire.db")
	}
	db := openDB(t, path)
	signer, err := auth.NewSigner(testKey)
	require.NoError(t, err)
	clk := newClock()
	cfg := Config{
		Store:  NewSQLiteStore(db),
		Signer: signer,
		Argon2: cheapArgon,
		Now:    clk.Now,
		ClientIP: func(r *http.Request) string {
			if ip := r.Header.Get("X-Test-IP"); ip != "" {
				return ip
			}
			return RemoteIP(r)
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(context.Background(), cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	svc.Routes(mux)
	srv := httptest.NewServer(mux)
	f := &fixture{t: t, path: path, signer: signer, clock: clk, svc: svc, srv: srv}
	var once sync.Once
	f.close = func() {
		once.Do(func() {
			srv.Close()
			require.NoError(t, db.Close())
		})
	}
	t.Cleanup(f.close)
	return f
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorResponse(t *testing.T) ErrorResponse {
	t.Helper()
	var e ErrorResponse
	require.NoError(t, json.Unmarshal(a.body, &e), "body %s", a.body)
	return e
}

func (a answer) token(t *testing.T) TokenResponse {
	t.Helper()
	var tr TokenResponse
	require.NoError(t, json.Unmarshal(a.body, &tr), "body %s", a.body)
	require.NotEmpty(t, tr.Token)
	return tr
}

// do sends a request with an optional body (string or JSON-encoded value),
// bearer token and headers (pairs).
func (f *fixture) do(method, path string, body any, token string, headers ...string) answer {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(f.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(f.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func (f *fixture) register(username, password string) TokenResponse {
	f.t.Helper()
	a := f.do("POST", "/v1/auth/register", map[string]string{"username": username, "password": password}, "")
	require.Equal(f.t, http.StatusCreated, a.status, "body %s", a.body)
	return a.token(f.t)
}

func requireCode(t *testing.T, a answer, status int, code netcode.Code) ErrorResponse {
	t.Helper()
	require.Equal(t, status, a.status, "body %s", a.body)
	e := a.errorResponse(t)
	require.Equal(t, uint16(code), e.Code, "body %s", a.body)
	require.Equal(t, code.String(), e.Error)
	return e
}

func TestRegisterLoginMeRefreshLogout(t *testing.T) {
	f := newFixture(t, "", nil)

	a := f.do("POST", "/v1/auth/register", map[string]string{"username": "Alice", "password": "correct horse", "display_name": "Alice A."}, "")
	require.Equal(t, http.StatusCreated, a.status, "body %s", a.body)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	reg := a.token(t)
	assert.Equal(t, "Alice", reg.Username)
	assert.Equal(t, "Alice A.", reg.Name)
	assert.False(t, reg.Guest)
	assert.WithinDuration(t, f.clock.Now().Add(DefaultTokenTTL), reg.ExpiresAt, 2*time.Second)

	c, err := f.signer.Verify(reg.Token, f.clock.Now())
	require.NoError(t, err, "the engine's signer accepts the token")
	assert.Equal(t, reg.UserID, c.UserID)
	assert.Equal(t, "Alice A.", c.Name)
	require.NoError(t, f.svc.TokenCheck(context.Background(), c))

	requireCode(t, f.do("POST", "/v1/auth/register", map[string]string{"username": "ALICE", "password": "another one"}, ""),
		http.StatusConflict, netcode.CodeUsernameTaken)

	a = f.do("POST", "/v1/auth/login", map[string]string{"username": "alice", "password": "correct horse"}, "")
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	login := a.token(t)
	assert.Equal(t, reg.UserID, login.UserID)
	assert.NotEqual(t, reg.Token, login.Token)

	a = f.do("GET", "/v1/me", nil, login.Token)
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	var me MeResponse
	require.NoError(t, json.Unmarshal(a.body, &me))
	assert.Equal(t, reg.UserID, me.UserID)
	assert.Equal(t, "Alice", me.Username)
	assert.Equal(t, "Alice A.", me.Name)
	require.NotNil(t, me.CreatedAt)

	requireCode(t, f.do("GET", "/v1/me", nil, ""), http.StatusUnauthorized, netcode.CodeNotAuthenticated)
	requireCode(t, f.do("GET", "/v1/me", nil, "tw1.garbage.sig"), http.StatusUnauthorized, netcode.CodeBadToken)
	a = f.do("GET", "/v1/me", nil, "", "Authorization", "Basic abc")
	requireCode(t, a, http.StatusUnauthorized, netcode.CodeNotAuthenticated)
	assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer")

	// refresh: a new token, the old one revoked, and only once
	a = f.do("POST", "/v1/auth/refresh", nil, login.Token)
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	ref := a.token(t)
	assert.Equal(t, reg.UserID, ref.UserID)
	requireCode(t, f.do("GET", "/v1/me", nil, login.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	requireCode(t, f.do("POST", "/v1/auth/refresh", nil, login.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	require.Equal(t, http.StatusOK, f.do("GET", "/v1/me", nil, ref.Token).status)

	// logout
	a = f.do("POST", "/v1/auth/logout", nil, ref.Token)
	require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
	requireCode(t, f.do("GET", "/v1/me", nil, ref.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	requireCode(t, f.do("POST", "/v1/auth/logout", nil, ref.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	rc, err := f.signer.Verify(ref.Token, f.clock.Now())
	require.NoError(t, err, "the signature is still good")
	err = f.svc.TokenCheck(context.Background(), rc)
	require.ErrorIs(t, err, ErrTokenRevoked)
	assert.Equal(t, netcode.CodeTokenRevoked, netcode.CodeOf(err))

	// other tokens of the same user are not affected
	require.Equal(t, http.StatusOK, f.do("GET", "/v1/me", nil, reg.Token).status)

	// an expired token is refused as expired, and cannot be refreshed
	f.clock.Advance(DefaultTokenTTL + time.Second)
	requireCode(t, f.do("GET", "/v1/me", nil, reg.Token), http.StatusUnauthorized, netcode.CodeTokenExpired)
	requireCode(t, f.do("POST", "/v1/auth/refresh", nil, reg.Token), http.StatusUnauthorized, netcode.CodeTokenExpired)

	// expired revocations are purged
	n, err := f.svc.Purge(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 0, f.svc.RevokedCount())
}

func TestGuestTokensMeRefreshLogout(t *testing.T) {
	f := newFixture(t, "", nil)
	tok, _, err := f.signer.Issue(auth.Claims{UserID: "g_1", Name: "guest-1", Guest: true}, f.clock.Now(), time.Hour)
	require.NoError(t, err)
	a := f.do("GET", "/v1/me", nil, tok)
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	var me MeResponse
	require.NoError(t, json.Unmarshal(a.body, &me))
	assert.Equal(t, MeResponse{UserID: "g_1", Name: "guest-1", Guest: true, TokenExpiresAt: me.TokenExpiresAt}, me)

	a = f.do("POST", "/v1/auth/refresh", nil, tok)
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
	ref := a.token(t)
	assert.True(t, ref.Guest)
	assert.Equal(t, "g_1", ref.UserID)
	assert.WithinDuration(t, f.clock.Now().Add(time.Hour), ref.ExpiresAt, 2*time.Second, "a guest keeps its token lifetime")
	require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, ref.Token).status)
	requireCode(t, f.do("GET", "/v1/me", nil, ref.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
}

func TestRevocationSurvivesRestart(t *testing.T) {
	f := newFixture(t, "", nil)
	tr := f.register("bob", "bobs password")
	keep := f.do("POST", "/v1/auth/login", map[string]string{"username": "bob", "password": "bobs password"}, "").token(t)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, tr.Token).status)
	f.close()

	g := newFixture(t, f.path, nil)
	requireCode(t, g.do("GET", "/v1/me", nil, tr.Token), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	c, err := g.signer.Verify(tr.Token, g.clock.Now())
	require.NoError(t, err)
	require.ErrorIs(t, g.svc.TokenCheck(context.Background(), c), ErrTokenRevoked)
	require.Equal(t, http.StatusOK, g.do("GET", "/v1/me", nil, keep.Token).status)
	// and the account itself survived
	require.Equal(t, http.StatusOK, g.do("POST", "/v1/auth/login", map[string]string{"username": "BOB", "password": "bobs password"}, "").status)
}

func TestUnknownUserAndWrongPasswordLookTheSame(t *testing.T) {
	f := newFixture(t, "", nil)
	f.register("carol", "carols password")
	// a user without a password (created through the store) and a password
	// outside the length rules fail the same way
	_, err := f.svc.store.CreateUser(context.Background(), "nopass", "", nil)
	require.NoError(t, err)

	attempts := []map[string]string{
		{"username": "carol", "password": "wrong password"},
		{"username": "nobody", "password": "wrong password"},
		{"username": "nopass", "password": "wrong password"},
		{"username": "carol", "password": "short"},
		{"username": "not a valid name!", "password": "wrong password"},
	}
	var first answer
	for i, body := range attempts {
		a := f.do("POST", "/v1/auth/login", body, "", "X-Test-IP", "10.0.0."+string(rune('1'+i)))
		requireCode(t, a, http.StatusUnauthorized, netcode.CodeInvalidCredentials)
		assert.Empty(t, a.header.Get("WWW-Authenticate"))
		if i == 0 {
			first = a
			continue
		}
		assert.Equal(t, string(first.body), string(a.body), "attempt %d", i)
		assert.Equal(t, first.header.Get("Content-Type"), a.header.Get("Content-Type"))
		assert.Equal(t, first.header.Get("Content-Length"), a.header.Get("Content-Length"))
	}
}

func TestLoginRateLimitedPerUsername(t *testing.T) {
	f := newFixture(t, "", nil)
	f.register("dave", "daves password")
	wrong := map[string]string{"username": "dave", "password": "not the password"}
	right := map[string]string{"username": "Dave", "password": "daves password"}
	for i := range DefaultLoginAttemptsPerUser {
		// from a different IP each time: the per-username limit applies across IPs
		requireCode(t, f.do("POST", "/v1/auth/login", wrong, "", "X-Test-IP", "192.0.2."+string(rune('1'+i))),
			http.StatusUnauthorized, netcode.CodeInvalidCredentials)
	}
	a := f.do("POST", "/v1/auth/login", right, "", "X-Test-IP", "198.51.100.1")
	requireCode(t, a, http.StatusTooManyRequests, netcode.CodeLoginRateLimited)
	assert.Equal(t, "12", a.header.Get("Retry-After"), "5 per minute refills one every 12s")

	// another user from the same IP is not affected
	f.register("erin", "erins password")
	require.Equal(t, http.StatusOK, f.do("POST", "/v1/auth/login", map[string]string{"username": "erin", "password": "erins password"}, "").status)

	f.clock.Advance(12 * time.Second)
	a = f.do("POST", "/v1/auth/login", right, "")
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
}

func TestLoginRateLimitedPerIP(t *testing.T) {
	f := newFixture(t, "", nil)
	f.register("frank", "franks password")
	for i := range DefaultLoginAttemptsPerIP {
		body := map[string]string{"username": "user" + strings.Repeat("x", i%3) + string(rune('a'+i)), "password": "whatever123"}
		requireCode(t, f.do("POST", "/v1/auth/login", body, "", "X-Test-IP", "203.0.113.7"),
			http.StatusUnauthorized, netcode.CodeInvalidCredentials)
	}
	right := map[string]string{"username": "frank", "password": "franks password"}
	a := f.do("POST", "/v1/auth/login", right, "", "X-Test-IP", "203.0.113.7")
	requireCode(t, a, http.StatusTooManyRequests, netcode.CodeLoginRateLimited)
	assert.Equal(t, "3", a.header.Get("Retry-After"), "20 per minute refills one every 3s")
	require.Equal(t, http.StatusOK, f.do("POST", "/v1/auth/login", right, "", "X-Test-IP", "203.0.113.8").status)
	f.clock.Advance(3 * time.Second)
	require.Equal(t, http.StatusOK, f.do("POST", "/v1/auth/login", right, "", "X-Test-IP", "203.0.113.7").status)
}

func TestRegisterRateLimitedPerIP(t *testing.T) {
	f := newFixture(t, "", func(c *Config) { c.RegistrationsPerIP = 3 })
	for i := range 3 {
		body := map[string]string{"username": "reg" + string(rune('a'+i)), "password": "password123"}
		require.Equal(t, http.StatusCreated, f.do("POST", "/v1/auth/register", body, "").status)
	}
	a := f.do("POST", "/v1/auth/register", map[string]string{"username": "regz", "password": "password123"}, "")
	requireCode(t, a, http.StatusTooManyRequests, netcode.CodeRateLimited)
	assert.Equal(t, "20", a.header.Get("Retry-After"))
}

func TestWeirdUsernames(t *testing.T) {
	f := newFixture(t, "", func(c *Config) { c.RegistrationsPerIP = 1000 })
	tests := map[string]struct {
		username string
		code     netcode.Code // CodeOK: accepted
	}{
		"sql drop":           {"'; DROP TABLE users; --", netcode.CodeBadUsername},
		"sql quote":          {`robert"); --`, netcode.CodeBadUsername},
		"sql like":           {"a%_b", netcode.CodeBadUsername},
		"accent":             {"é_élodie", netcode.CodeOK},
		"cjk":                {"名前", netcode.CodeBadUsername}, // two characters: too short
		"cjk 3":              {"名前だ", netcode.CodeOK},
		"cjk too many bytes": {strings.Repeat("名", 22), netcode.CodeBadUsername},
		"emoji":              {"gamer🎮", netcode.CodeBadUsername},
		"rtl arabic":         {"مرحبا", netcode.CodeOK},
		"rtl override":       {"abc\u202Etxt.exe", netcode.CodeBadUsername},
		"zero width":         {"ad\u200Bmin", netcode.CodeBadUsername},
		"10 KB":              {strings.Repeat("a", 10<<10), netcode.CodeBadUsername},
		"empty":              {"", netcode.CodeBadUsername},
		"spaces":             {"     ", netcode.CodeBadUsername},
		"nul":                {"nul\x00nul", netcode.CodeBadUsername},
		"dots":               {"a.b.c", netcode.CodeOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := f.do("POST", "/v1/auth/register", map[string]string{"username": tc.username, "password": "password123"}, "")
			if tc.code == netcode.CodeOK {
				require.Equal(t, http.StatusCreated, a.status, "body %s", a.body)
				tr := a.token(t)
				a = f.do("POST", "/v1/auth/login", map[string]string{"username": tc.username, "password": "password123"}, "")
				require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
				assert.Equal(t, tr.UserID, a.token(t).UserID)
				return
			}
			if tc.code == netcode.CodeBadUsername && len(tc.username) > 4<<10 {
				// a body above 4 KiB is refused before the name is read
				requireCode(t, a, http.StatusRequestEntityTooLarge, netcode.CodeFrameTooLarge)
				return
			}
			e := requireCode(t, a, http.StatusBadRequest, tc.code)
			assert.NotEmpty(t, e.Message)
		})
	}
	// a 1 KB name fits in the body and is refused by the rules
	requireCode(t, f.do("POST", "/v1/auth/register", map[string]string{"username": strings.Repeat("a", 1<<10), "password": "password123"}, ""),
		http.StatusBadRequest, netcode.CodeBadUsername)

	// the database still works
	var n int
	require.NoError(t, f.svc.store.(*SQLiteStore).db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n))
	assert.Equal(t, 4, n)
	f.register("still_works", "password123")
}

func TestBadPasswords(t *testing.T) {
	f := newFixture(t, "", nil)
	for _, pw := range []string{"", "short", strings.Repeat("p", 129)} {
		requireCode(t, f.do("POST", "/v1/auth/register", map[string]string{"username": "gina", "password": pw}, ""),
			http.StatusBadRequest, netcode.CodeBadPassword)
	}
	tr := f.register("gina", strings.Repeat("é", 128))
	assert.NotEmpty(t, tr.UserID)
}

func TestStrictJSON(t *testing.T) {
	f := newFixture(t, "", nil)
	for name, body := range map[string]string{
		"unknown field":        `{"username":"henry","password":"password123","admin":true}`,
		"trailing value":       `{"username":"henry","password":"password123"} {}`,
		"trailing garbage":     `{"username":"henry","password":"password123"}x`,
		"wrong type":           `{"username":42,"password":"password123"}`,
		"array":                `[1,2]`,
		"empty":                ``,
		"truncated":            `{"username":"henry"`,
		"display_name (login)": `{"username":"henry","password":"password123","display_name":"H"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := "/v1/auth/register"
			if strings.Contains(name, "login") {
				path = "/v1/auth/login"
			}
			requireCode(t, f.do("POST", path, body, ""), http.StatusBadRequest, netcode.CodeBadRequest)
		})
	}
	big := `{"username":"henry","password":"` + strings.Repeat("p", DefaultMaxBodyBytes) + `"}`
	requireCode(t, f.do("POST", "/v1/auth/login", big, ""), http.StatusRequestEntityTooLarge, netcode.CodeFrameTooLarge)
	requireCode(t, f.do("POST", "/v1/auth/register", `null`, ""), http.StatusBadRequest, netcode.CodeBadUsername)
	// nothing was created
	_, err := f.svc.store.UserByName(context.Background(), "henry")
	require.ErrorIs(t, err, ErrUserNotFound)
}

func TestConcurrentRefreshOnlyOneWins(t *testing.T) {
	f := newFixture(t, "", nil)
	tr := f.register("ivan", "ivans password")
	const n = 8
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			statuses <- f.do("POST", "/v1/auth/refresh", nil, tr.Token).status
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusUnauthorized, s)
		}
	}
	assert.Equal(t, 1, ok)
}

func TestRehashOnLoginAfterParameterChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tickwire.db")
	f := newFixture(t, path, nil)
	tr := f.register("judy", "judys password")
	f.close()

	stronger := Argon2Params{Time: 2, MemoryKiB: 128, Threads: 1, SaltLen: 16, KeyLen: 32}
	g := newFixture(t, path, func(c *Config) { c.Argon2 = stronger })
	require.Equal(t, http.StatusOK, g.do("POST", "/v1/auth/login", map[string]string{"username": "judy", "password": "judys password"}, "").status)
	_, hash, err := g.svc.store.Credentials(context.Background(), "judy")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(hash), "$argon2id$v=19$m=128,t=2,p=1$"), "rehashed: %s", hash)
	ok, rehash, err := VerifyPassword(hash, "judys password", stronger)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
	require.Equal(t, tr.UserID, g.do("POST", "/v1/auth/login", map[string]string{"username": "judy", "password": "judys password"}, "").token(t).UserID)
}

func TestRunPurgesUntilCancelled(t *testing.T) {
	f := newFixture(t, "", func(c *Config) { c.PurgeInterval = 5 * time.Millisecond })
	tr := f.register("kim", "kims password")
	require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, tr.Token).status)
	require.Equal(t, 1, f.svc.RevokedCount())
	f.clock.Advance(DefaultTokenTTL + time.Second)

	// The fixture's HTTP server stays outside the bubble; Run and its
	// ticker live inside it, so the purge interval passes in fake time.
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- f.svc.Run(ctx) }()
		synctest.Wait()
		require.Equal(t, 1, f.svc.RevokedCount(), "nothing purged before the first tick")
		time.Sleep(5 * time.Millisecond) // one PurgeInterval
		synctest.Wait()
		require.Zero(t, f.svc.RevokedCount())
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
	left, err := f.svc.store.RevokedTokens(context.Background(), time.Unix(0, 0))
	require.NoError(t, err)
	assert.Empty(t, left, "purged from the store too")
}

func TestConfigValidation(t *testing.T) {
	signer, err := auth.NewSigner(testKey)
	require.NoError(t, err)
	st, _ := newTestStore(t)
	for name, cfg := range map[string]Config{
		"no store":        {Signer: signer},
		"no signer":       {Store: st},
		"short ttl":       {Store: st, Signer: signer, TokenTTL: time.Second},
		"bad argon":       {Store: st, Signer: signer, Argon2: Argon2Params{Time: 1}},
		"negative max":    {Store: st, Signer: signer, LoginAttemptsPerIP: -1},
		"negative guests": {Store: st, Signer: signer, MaxGuestRevocations: -1},
	} {
		_, err := New(context.Background(), cfg)
		require.ErrorIs(t, err, ErrBadConfig, name)
	}
	s, err := New(context.Background(), Config{Store: st, Signer: signer})
	require.NoError(t, err)
	assert.Equal(t, DefaultArgon2(), s.cfg.Argon2)
}

func BenchmarkTokenCheck(b *testing.B) {
	st, _ := newTestStore(b)
	signer, err := auth.NewSigner(testKey)
	require.NoError(b, err)
	svc, err := New(context.Background(), Config{Store: st, Signer: signer, Argon2: cheapArgon})
	require.NoError(b, err)
	now := time.Now()
	for i := range 10_000 { // a realistic number of revocations in force
		require.NoError(b, svc.Revoke(context.Background(), auth.Claims{TokenID: strconv.Itoa(i), UserID: "u", ExpiresAt: now.Add(time.Hour).Unix()}))
	}
	c := auth.Claims{TokenID: "live", UserID: "u", ExpiresAt: now.Add(time.Hour).Unix()}
	b.ReportAllocs()
	for b.Loop() {
		if err := svc.TokenCheck(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginDefaultParams is one successful login (store lookup,
// argon2id with the default parameters, token signing), without HTTP.
func BenchmarkLoginDefaultParams(b *testing.B) {
	st, _ := newTestStore(b)
	signer, err := auth.NewSigner(testKey)
	require.NoError(b, err)
	svc, err := New(context.Background(), Config{Store: st, Signer: signer})
	require.NoError(b, err)
	_, err = svc.Register(context.Background(), Credentials{Username: "bench", Password: "bench password"})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Login(context.Background(), "127.0.0.1", "bench", "bench password"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeUsername(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := NormalizeUsername("Zoë_Straße-42"); err != nil {
			b.Fatal(err)
		}
	}
}
