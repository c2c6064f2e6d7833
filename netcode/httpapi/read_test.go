package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tickwire/tickwire/netcode"
)

// What WriteError writes, ReadError reads back; a body that is not ours
// falls back to the status.
func TestReadErrorRoundTrip(t *testing.T) {
	for _, c := range netcode.Codes() {
		if c == netcode.CodeOK || c == netcode.CodeInternal {
			continue
		}
		rec := httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), netcode.Errorf(c, "because %d", c))
		code, msg, ours := ReadError(rec.Code, rec.Body.Bytes())
		assert.True(t, ours, "%s", c)
		assert.Equal(t, c, code)
		if Status(c) != http.StatusInternalServerError { // those hide their text
			assert.Contains(t, msg, "because", "%s", c)
		}
	}
	for status, want := range map[int]netcode.Code{
		401: netcode.CodeBadToken, 403: netcode.CodeForbidden, 404: netcode.CodeNotFound, 400: netcode.CodeBadRequest,
		502: netcode.CodeServerBusy, 503: netcode.CodeServerBusy, 429: netcode.CodeServerBusy, 500: netcode.CodeInternal,
	} {
		code, _, ours := ReadError(status, []byte("<html>proxy error</html>"))
		assert.False(t, ours)
		assert.Equal(t, want, code, "status %d", status)
	}
}
