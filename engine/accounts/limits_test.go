package accounts

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
)

// concurrently sends n requests at once (built by body(i) and ip(i)) and
// returns their answers in order.
func (f *fixture) concurrently(n int, path string, body func(i int) any, ip func(i int) string) []answer {
	f.t.Helper()
	out := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f.do("POST", path, body(i), "", "X-Test-IP", ip(i))
		})
	}
	close(start)
	wg.Wait()
	return out
}

// doNow is do for a request that must be answered without waiting on
// anything the test holds: it fails the test if no answer comes within 10s.
func (f *fixture) doNow(method, path string, body any, token string, headers ...string) answer {
	f.t.Helper()
	ch := make(chan answer, 1)
	go func() { ch <- f.do(method, path, body, token, headers...) }()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		f.t.Fatalf("%s %s: no answer within 10s", method, path)
		return answer{}
	}
}

// tally counts answers by status, checking the code of each refusal.
func tally(t *testing.T, as []answer, codes map[int]netcode.Code) map[int]int {
	t.Helper()
	n := map[int]int{}
	for _, a := range as {
		n[a.status]++
		code, ok := codes[a.status]
		require.True(t, ok, "unexpected status %d: %s", a.status, a.body)
		if a.status >= 400 {
			requireCode(t, a, a.status, code)
		}
	}
	return n
}

// TestConcurrentWrongLoginsHashOnlyTheBurst: 30 concurrent wrong logins
// for one user, each from its own address, are admitted up to the
// per-username burst before any hashing; the rest are refused with
// login_rate_limited and a Retry-After, and cost no argon2id work. The
// server then still logs users in.
func TestConcurrentWrongLoginsHashOnlyTheBurst(t *testing.T) {
	f := newFixture(t, "", nil)
	f.register("lena", "lenas password")
	f.register("omar", "omars password")
	before := f.svc.Stats()

	const n = 30
	as := f.concurrently(n, "/v1/auth/login",
		func(int) any { return map[string]string{"username": "lena", "password": "not the password"} },
		func(i int) string { return "192.0.2." + strconv.Itoa(i+1) })
	got := tally(t, as, map[int]netcode.Code{
		http.StatusUnauthorized:    netcode.CodeInvalidCredentials,
		http.StatusTooManyRequests: netcode.CodeLoginRateLimited,
	})
	assert.Equal(t, DefaultLoginAttemptsPerUser, got[http.StatusUnauthorized])
	assert.Equal(t, n-DefaultLoginAttemptsPerUser, got[http.StatusTooManyRequests])
	for _, a := range as {
		if a.status == http.StatusTooManyRequests {
			assert.Equal(t, "12", a.header.Get("Retry-After"), "5 per minute refills one every 12s")
		}
	}

	after := f.svc.Stats()
	assert.Equal(t, uint64(DefaultLoginAttemptsPerUser), after.Hashes-before.Hashes, "only the admitted attempts were hashed")
	assert.Equal(t, uint64(n-DefaultLoginAttemptsPerUser), after.LoginPerUser.Refused-before.LoginPerUser.Refused)
	assert.Zero(t, after.LoginPerIP.Refused)
	assert.Zero(t, after.Hashing, "no slot leaked")

	// another user logs in at once; lena once her bucket has refilled a token
	require.Equal(t, http.StatusOK, f.do("POST", "/v1/auth/login", map[string]string{"username": "omar", "password": "omars password"}, "").status)
	requireCode(t, f.do("POST", "/v1/auth/login", map[string]string{"username": "lena", "password": "lenas password"}, ""),
		http.StatusTooManyRequests, netcode.CodeLoginRateLimited)
	f.clock.Advance(12 * time.Second)
	a := f.do("POST", "/v1/auth/login", map[string]string{"username": "lena", "password": "lenas password"}, "")
	require.Equal(t, http.StatusOK, a.status, "body %s", a.body)
}

// TestConcurrentLoginsFromOneIPHashOnlyTheBurst: 30 concurrent logins from
// one address for 30 usernames hash no more than the per-IP burst.
func TestConcurrentLoginsFromOneIPHashOnlyTheBurst(t *testing.T) {
	f := newFixture(t, "", nil)
	before := f.svc.Stats().Hashes
	const n = 30
	as := f.concurrently(n, "/v1/auth/login",
		func(i int) any {
			return map[string]string{"username": "user" + strconv.Itoa(i), "password": "whatever123"}
		},
		func(int) string { return "203.0.113.9" })
	got := tally(t, as, map[int]netcode.Code{
		http.StatusUnauthorized:    netcode.CodeInvalidCredentials,
		http.StatusTooManyRequests: netcode.CodeLoginRateLimited,
	})
	assert.Equal(t, DefaultLoginAttemptsPerIP, got[http.StatusUnauthorized])
	st := f.svc.Stats()
	assert.Equal(t, uint64(DefaultLoginAttemptsPerIP), st.Hashes-before)
	assert.Equal(t, uint64(n-DefaultLoginAttemptsPerIP), st.LoginPerIP.Refused)
	assert.Zero(t, st.LoginPerUser.Refused, "an IP refusal takes nothing from the usernames' buckets")
}

// TestConcurrentRegistersHashOnlyTheBurst: register attempts beyond the
// per-IP limit are refused before hashing.
func TestConcurrentRegistersHashOnlyTheBurst(t *testing.T) {
	f := newFixture(t, "", func(c *Config) { c.RegistrationsPerIP = 3 })
	const n = 12
	as := f.concurrently(n, "/v1/auth/register",
		func(i int) any {
			return map[string]string{"username": "newbie" + strconv.Itoa(i), "password": "password123"}
		},
		func(int) string { return "198.51.100.4" })
	got := tally(t, as, map[int]netcode.Code{
		http.StatusCreated:         netcode.CodeOK,
		http.StatusTooManyRequests: netcode.CodeRateLimited,
	})
	assert.Equal(t, 3, got[http.StatusCreated])
	st := f.svc.Stats()
	assert.Equal(t, uint64(3), st.Hashes)
	assert.Equal(t, uint64(n-3), st.RegisterPerIP.Refused)
}

// TestHashQueueFullIsServerBusy: with every hashing slot taken and the
// wait queue full, a login and a register are refused at once with
// server_busy (503, Retry-After) and counted; the queued requests finish
// when the slot frees, and the server serves normally afterwards.
func TestHashQueueFullIsServerBusy(t *testing.T) {
	f := newFixture(t, "", func(c *Config) {
		c.MaxConcurrentHashes = 1
		c.MaxHashQueue = 2
	})
	f.register("pia", "pias password")

	// hold the only slot, as a long hash would
	require.NoError(t, f.svc.acquireHash(context.Background()))
	held := true
	t.Cleanup(func() {
		if held {
			f.svc.releaseHash()
		}
	})

	// two wrong logins queue behind it
	queued := make(chan answer, 2)
	for i := range 2 {
		go func() {
			queued <- f.do("POST", "/v1/auth/login", map[string]string{"username": "pia", "password": "wrong password"}, "", "X-Test-IP", "10.1.0."+strconv.Itoa(i+1))
		}()
	}
	require.Eventually(t, func() bool { return f.svc.Stats().Hashing == 3 }, 10*time.Second, time.Millisecond,
		"the two logins wait for the slot")

	// refused at once: a request that waited for the slot would never be
	// answered while the test holds it
	a := f.doNow("POST", "/v1/auth/login", map[string]string{"username": "pia", "password": "pias password"}, "", "X-Test-IP", "10.1.0.9")
	requireCode(t, a, http.StatusServiceUnavailable, netcode.CodeServerBusy)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	a = f.doNow("POST", "/v1/auth/register", map[string]string{"username": "quinn", "password": "password123"}, "")
	requireCode(t, a, http.StatusServiceUnavailable, netcode.CodeServerBusy)
	st := f.svc.Stats()
	assert.Equal(t, uint64(2), st.HashQueueFull)
	assert.Equal(t, int64(3), st.Hashing, "a refusal takes no place in the queue")

	f.svc.releaseHash()
	held = false
	for range 2 {
		select {
		case a := <-queued:
			requireCode(t, a, http.StatusUnauthorized, netcode.CodeInvalidCredentials)
		case <-time.After(10 * time.Second):
			t.Fatal("a queued login never finished")
		}
	}
	assert.Zero(t, f.svc.Stats().Hashing)
	f.register("quinn", "password123")
	require.Equal(t, http.StatusOK, f.do("POST", "/v1/auth/login", map[string]string{"username": "quinn", "password": "password123"}, "").status)
}

// TestGuestLogoutIsBoundedAndNotStored: a guest's logout writes no row;
// guest revocations are held in memory up to MaxGuestRevocations, beyond
// which a logout is refused with server_busy (counted) and the token stays
// valid; expired guest revocations make room again.
func TestGuestLogoutIsBoundedAndNotStored(t *testing.T) {
	f := newFixture(t, "", func(c *Config) { c.MaxGuestRevocations = 3 })
	guest := func(i int, ttl time.Duration) string {
		tok, _, err := f.signer.Issue(auth.Claims{UserID: "g_" + strconv.Itoa(i), Name: "guest", Guest: true}, f.clock.Now(), ttl)
		require.NoError(t, err)
		return tok
	}
	var toks []string
	for i := range 3 {
		toks = append(toks, guest(i, time.Hour))
		require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, toks[i]).status)
		requireCode(t, f.do("GET", "/v1/me", nil, toks[i]), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	}
	rows, err := f.svc.store.RevokedTokens(context.Background(), time.Unix(0, 0))
	require.NoError(t, err)
	assert.Empty(t, rows, "guest logouts write no row")

	late := guest(3, 2*time.Hour)
	a := f.do("POST", "/v1/auth/logout", nil, late)
	requireCode(t, a, http.StatusServiceUnavailable, netcode.CodeServerBusy)
	assert.NotEmpty(t, a.header.Get("Retry-After"))
	requireCode(t, f.do("POST", "/v1/auth/refresh", nil, late), http.StatusServiceUnavailable, netcode.CodeServerBusy)
	require.Equal(t, http.StatusOK, f.do("GET", "/v1/me", nil, late).status, "a refused logout leaves the token valid")
	st := f.svc.Stats()
	assert.Equal(t, 3, st.GuestRevoked)
	assert.Equal(t, uint64(2), st.GuestRevocationsFull)

	// registered users are not limited by the guest set
	tr := f.register("rosa", "rosas password")
	require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, tr.Token).status)

	// once the first three expire, they make room
	f.clock.Advance(time.Hour + time.Second)
	require.Equal(t, http.StatusNoContent, f.do("POST", "/v1/auth/logout", nil, late).status)
	requireCode(t, f.do("GET", "/v1/me", nil, late), http.StatusUnauthorized, netcode.CodeTokenRevoked)
	assert.Equal(t, 1, f.svc.Stats().GuestRevoked)
}
