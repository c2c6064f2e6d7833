package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestStatusCoversEveryCode(t *testing.T) {
	named := map[netcode.Code]bool{}
	for _, c := range netcode.Codes() {
		named[c] = true
		_, ok := statusOf[c]
		assert.True(t, ok, "code %d (%s) has no deliberate HTTP status: add it to statusOf", c, c)
	}
	for c := range statusOf {
		assert.True(t, named[c], "statusOf lists %d, which netcode does not name", c)
	}
	for code, want := range map[netcode.Code]int{
		netcode.CodeBadToken: 401, netcode.CodeTokenExpired: 401, netcode.CodeTokenRevoked: 401,
		netcode.CodeNotAuthenticated: 401, netcode.CodeForbidden: 403, netcode.CodeGuestNotAllowed: 403,
		netcode.CodeUserNotFound: 404, netcode.CodeGroupNotFound: 404, netcode.CodeRoomNotFound: 404,
		netcode.CodeRateLimited: 429, netcode.CodeLoginRateLimited: 429, netcode.CodeMessageRateLimited: 429,
		netcode.CodeAlreadyFriends: 409, netcode.CodeUsernameTaken: 409,
		netcode.CodeFrameTooLarge: 413, netcode.CodeMessageTooLarge: 413,
		netcode.CodeServerBusy: 503, netcode.CodeTooManySessions: 503, netcode.CodeServerShutdown: 503,
		netcode.CodeInternal: 500, netcode.CodeBadRequest: 400, netcode.CodeBadText: 400,
		netcode.Code(60000): 500,
	} {
		assert.Equal(t, want, Status(code), code.String())
	}
}

// logBuffer is a slog handler target safe for the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type echoReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeAndWriteOverLoopback(t *testing.T) {
	var logs logBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var req echoReq
		if err := DecodeJSON(w, r, &req, 64); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, req)
	})
	mux.HandleFunc("POST /optional", func(w http.ResponseWriter, r *http.Request) {
		req := echoReq{Name: "default"}
		if err := DecodeOptionalJSON(w, r, &req, 64); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, req)
	})
	mux.HandleFunc("GET /fail/{what}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("what") {
		case "internal":
			WriteError(w, r, fmt.Errorf("opening users.db: %w", errors.New("disk on fire")))
		case "coded-internal":
			WriteError(w, r, &netcode.CodedError{Code: netcode.CodeInternal, Msg: "secret detail"})
		case "expired":
			WriteError(w, r, netcode.CodeTokenExpired)
		case "anonymous":
			WriteError(w, r, netcode.Errorf(netcode.CodeNotAuthenticated, "no bearer token"))
		case "login":
			WriteError(w, r, netcode.CodeInvalidCredentials)
		case "limited":
			WriteError(w, r, &RetryAfterError{RetryAfter: 1500 * time.Millisecond, Err: netcode.Errorf(netcode.CodeRateLimited, "slow down")})
		case "gone":
			WriteErrorStatus(w, r, http.StatusGone, netcode.Errorf(netcode.CodeIdleTimeout, "session closed: idle"))
		case "gone-internal":
			WriteErrorStatus(w, r, http.StatusGone, &netcode.CodedError{Code: netcode.CodeInternal, Msg: "secret detail"})
		case "unencodable":
			WriteJSON(w, r, http.StatusOK, map[string]any{"f": func() {}})
		}
	})
	mux.HandleFunc("POST /empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(Wrap(mux, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer srv.Close()

	type answer struct {
		status int
		header http.Header
		body   ErrorResponse
		raw    string
	}
	do := func(method, path, body string) answer {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, err = buf.ReadFrom(resp.Body)
		require.NoError(t, err)
		a := answer{status: resp.StatusCode, header: resp.Header, raw: buf.String()}
		if resp.StatusCode >= 400 && buf.Len() > 0 {
			require.NoError(t, json.Unmarshal(buf.Bytes(), &a.body), buf.String())
		}
		for h, v := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Content-Type": "application/json"} {
			assert.Equal(t, v, resp.Header.Get(h), "%s %s: header %s", method, path, h)
		}
		return a
	}

	a := do("POST", "/echo", `{"name":"zoë","count":3}`)
	require.Equal(t, 200, a.status)
	assert.JSONEq(t, `{"name":"zoë","count":3}`, a.raw)

	for name, tc := range map[string]struct {
		body   string
		status int
		code   netcode.Code
		msg    string
	}{
		"unknown field": {`{"name":"a","admin":true}`, 400, netcode.CodeBadRequest, `unknown field "admin"`},
		"trailing data": {`{"name":"a"} {"name":"b"}`, 400, netcode.CodeBadRequest, "trailing data"},
		"trailing junk": {`{"name":"a"}]`, 400, netcode.CodeBadRequest, "trailing data"},
		"over size":     {`{"name":"` + strings.Repeat("x", 100) + `"}`, 413, netcode.CodeFrameTooLarge, "body above 64 bytes"},
		"empty":         {``, 400, netcode.CodeBadRequest, "empty"},
		"malformed":     {`{"name":`, 400, netcode.CodeBadRequest, "ends inside"},
		"syntax":        {`{"name" "a"}`, 400, netcode.CodeBadRequest, "malformed JSON at byte"},
		"wrong type":    {`{"count":"three"}`, 400, netcode.CodeBadRequest, `field "count": want int, not JSON string`},
		"not an object": {`[1,2]`, 400, netcode.CodeBadRequest, "want a JSON object"},
	} {
		a := do("POST", "/echo", tc.body)
		assert.Equal(t, tc.status, a.status, name)
		assert.Equal(t, uint16(tc.code), a.body.Code, name)
		assert.Equal(t, tc.code.String(), a.body.Error, name)
		assert.Contains(t, a.body.Message, tc.msg, name)
		assert.NotContains(t, a.body.Message, "echoReq", "%s: Go type names stay inside", name)
	}

	a = do("POST", "/optional", "  \n")
	require.Equal(t, 200, a.status, "an optional body may be empty")
	assert.JSONEq(t, `{"name":"default","count":0}`, a.raw)
	a = do("POST", "/optional", `{"name":"x","extra":1}`)
	assert.Equal(t, 400, a.status, "an optional body present is decoded strictly")

	a = do("GET", "/fail/internal", "")
	assert.Equal(t, 500, a.status)
	assert.Equal(t, ErrorResponse{Error: "internal", Code: uint16(netcode.CodeInternal), Message: "internal error"}, a.body)
	assert.NotContains(t, a.raw, "disk on fire")
	assert.Contains(t, logs.String(), "disk on fire", "the underlying error is logged")
	assert.Contains(t, logs.String(), "/fail/internal")
	a = do("GET", "/fail/coded-internal", "")
	assert.Equal(t, 500, a.status)
	assert.NotContains(t, a.raw, "secret detail")
	a = do("GET", "/fail/unencodable", "")
	assert.Equal(t, 500, a.status)

	a = do("GET", "/fail/expired", "")
	assert.Equal(t, 401, a.status)
	assert.Equal(t, `Bearer realm="tickwire", error="invalid_token"`, a.header.Get("WWW-Authenticate"))
	a = do("GET", "/fail/anonymous", "")
	assert.Equal(t, 401, a.status)
	assert.Equal(t, `Bearer realm="tickwire"`, a.header.Get("WWW-Authenticate"), "no token presented: no error attribute (RFC 6750 3.1)")
	assert.Equal(t, "no bearer token", a.body.Message)
	a = do("GET", "/fail/login", "")
	assert.Equal(t, 401, a.status)
	assert.Empty(t, a.header.Get("WWW-Authenticate"), "a wrong password is not a bearer challenge")

	a = do("GET", "/fail/limited", "")
	assert.Equal(t, 429, a.status)
	assert.Equal(t, "2", a.header.Get("Retry-After"), "rounded up to whole seconds")
	assert.Equal(t, "rate_limited", a.body.Error)

	a = do("GET", "/fail/gone", "")
	assert.Equal(t, 410, a.status, "WriteErrorStatus overrides the table's status")
	assert.Equal(t, ErrorResponse{Error: "idle_timeout", Code: uint16(netcode.CodeIdleTimeout), Message: "session closed: idle"}, a.body)
	a = do("GET", "/fail/gone-internal", "")
	assert.Equal(t, 410, a.status)
	assert.NotContains(t, a.raw, "secret detail", "an internal code stays hidden under any status")

	a = do("POST", "/empty", "")
	assert.Equal(t, 204, a.status, "answers without a body get the common headers from Wrap")
}

func TestClientIPResolution(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	for name, tc := range map[string]struct {
		peer string
		xff  []string
		want string
	}{
		"no proxy":                    {"203.0.113.9:4000", nil, "203.0.113.9"},
		"forged by an untrusted peer": {"203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		"trusted proxy":               {"10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		"trusted proxy, no header":    {"10.1.2.3:4000", nil, "10.1.2.3"},
		"forged left of the real":     {"10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		"chain of proxies":            {"10.1.2.3:4000", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		"only proxies":                {"10.1.2.3:4000", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		"garbage stops the walk":      {"10.1.2.3:4000", []string{"198.51.100.1, not-an-ip, 10.9.9.9"}, "10.9.9.9"},
		"with port":                   {"10.1.2.3:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		"ipv6 proxy and client":       {"[2001:db8:1::5]:4000", []string{"[2001:db8:2::7]:80"}, "2001:db8:2::7"},
		"mapped peer is unmapped":     {"[::ffff:10.1.2.3]:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		"empty entries skipped":       {"10.1.2.3:4000", []string{"198.51.100.1, ,"}, "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		var got netip.Addr
		Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }), Config{TrustedProxies: trusted}).
			ServeHTTP(httptest.NewRecorder(), r)
		assert.Equal(t, tc.want, got.String(), name)
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8:2::7]:80"
	assert.Equal(t, "2001:db8:2::/64", ClientPrefix(r).String(), "outside Wrap: the peer, IPv6 keyed by its /64")
	r.RemoteAddr = "192.0.2.1:80"
	assert.Equal(t, "192.0.2.1/32", ClientPrefix(r).String())
	r.RemoteAddr = "pipe"
	assert.False(t, ClientIP(r).IsValid())
	assert.False(t, ClientPrefix(r).IsValid())
}

// TestForwardedForOverLoopback: a forged X-Forwarded-For from an
// untrusted peer is ignored; the same header from a trusted proxy (here
// the loopback peer itself) is honoured.
func TestForwardedForOverLoopback(t *testing.T) {
	for name, tc := range map[string]struct {
		trusted []netip.Prefix
		want    string
	}{
		"untrusted peer": {nil, "127.0.0.1"},
		"trusted peer":   {[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "198.51.100.23"},
	} {
		srv := httptest.NewServer(Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, r, http.StatusOK, map[string]string{"ip": ClientIP(r).String()})
		}), Config{TrustedProxies: tc.trusted}))
		req, err := http.NewRequest("GET", srv.URL, nil)
		require.NoError(t, err)
		req.Header.Set("X-Forwarded-For", "198.51.100.23")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var m map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		require.NoError(t, resp.Body.Close())
		srv.Close()
		assert.Equal(t, tc.want, m["ip"], name)
	}
}
