package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// routedService adds an HTTP route through service.Router.
type routedService struct{ kindClaimer }

func (routedService) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/test/hello", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"hello": "world"})
	})
}

func TestHTTPAPI(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e, err := New(Config{
		Now:           func() time.Time { return now },
		GuestTokenTTL: time.Hour,
		Services:      []service.Service{routedService{kindClaimer{k: 40}}},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(e.HTTPHandler())
	defer srv.Close()

	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		}
		return resp.StatusCode, m
	}

	code, m := do("GET", "/healthz", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", m["status"])

	code, m = do("POST", "/v1/auth/guest", `{"name":"  Zoë  "}`)
	require.Equal(t, 200, code)
	assert.Equal(t, "Zoë", m["name"])
	assert.Equal(t, true, m["guest"])
	assert.Equal(t, now.Add(time.Hour).UTC().Format(time.RFC3339), m["expires_at"])
	claims, err := e.Signer().Verify(m["token"].(string), now)
	require.NoError(t, err)
	assert.Equal(t, m["user_id"], claims.UserID)
	assert.True(t, claims.Guest)
	_, err = e.Signer().Verify(m["token"].(string), now.Add(time.Hour))
	assert.ErrorIs(t, err, netcode.CodeTokenExpired)

	code, m = do("POST", "/v1/auth/guest", "")
	require.Equal(t, 200, code)
	assert.True(t, strings.HasPrefix(m["name"].(string), "guest-"))

	for name, body := range map[string]string{
		"not json":  `{nope`,
		"long name": `{"name":"` + strings.Repeat("x", frame.MaxNameLen+1) + `"}`,
		"bad utf8":  "{\"name\":\"\xff\"}",
		"control":   `{"name":"a\u0007b"}`,
	} {
		code, m = do("POST", "/v1/auth/guest", body)
		assert.Equal(t, 400, code, name)
		assert.Equal(t, "bad_request", m["error"], name)
		assert.EqualValues(t, netcode.CodeBadRequest, m["code"], name)
	}
	code, _ = do("POST", "/v1/auth/guest", `{"name":"`+strings.Repeat("x", 5000)+`"}`)
	assert.Equal(t, 413, code)
	code, _ = do("GET", "/v1/auth/guest", "")
	assert.Equal(t, 405, code)

	code, m = do("GET", "/v1/test/hello", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "world", m["hello"])

	code, m = do("GET", "/v1/stats", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, m, "sessions_open")
	assert.Contains(t, m, "drops")

	require.NoError(t, e.Shutdown(t.Context()))
	code, m = do("GET", "/healthz", "")
	assert.Equal(t, 503, code)
	assert.Equal(t, "shutting_down", m["status"])
}
