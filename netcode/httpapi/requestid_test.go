package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Every request gets its own id in X-Request-Id, and every line logged
// about it (by the handler through Logger, and by WriteError) carries
// that id as request_id.
func TestRequestIDOnEveryLineOverLoopback(t *testing.T) {
	var logs lockedBuf
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Logger(r).Info("handling", "path", r.URL.Path)
		assert.Equal(t, w.Header().Get(RequestIDHeader), RequestID(r))
		WriteError(w, r, errors.New("boom")) // an internal error: logged at Error
	})
	srv := httptest.NewServer(Wrap(h, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}))
	defer srv.Close()

	ids := map[string]bool{}
	for range 3 {
		resp, err := http.Get(srv.URL + "/x")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		id := resp.Header.Get(RequestIDHeader)
		assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{16}$`), id)
		ids[id] = true
	}
	require.Len(t, ids, 3, "one id per request")

	perID := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		id, _ := m["request_id"].(string)
		require.True(t, ids[id], "a line without its request's id: %s", line)
		perID[id] = append(perID[id], m["msg"].(string))
	}
	for id := range ids {
		assert.Equal(t, []string{"handling", "http: request failed"}, perID[id])
	}
}

// Outside Wrap there is no id.
func TestRequestIDOutsideWrap(t *testing.T) {
	assert.Empty(t, RequestID(httptest.NewRequest("GET", "/", nil)))
}
