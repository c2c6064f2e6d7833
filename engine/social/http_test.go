package social_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
	"github.com/tickwire/tickwire/server"
)

// rawDo calls the social HTTP API with token and returns the status, the
// headers and the error body (if any).
func rawDo(t *testing.T, srv *server.Server, token, method, path, body string) (int, http.Header, httpapi.ErrorResponse) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, srv.HTTPURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), path)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), path)
	var e httpapi.ErrorResponse
	if resp.StatusCode >= 400 {
		require.NoError(t, json.Unmarshal(data, &e), "%s: %s", path, data)
	}
	return resp.StatusCode, resp.Header, e
}

func befriendHTTP(t *testing.T, srv *server.Server, a, b account) {
	t.Helper()
	require.NoError(t, httpDo(t, srv, a, "POST", "/v1/social/friends/requests", `{"username":"`+b.Name+`"}`, nil))
	require.NoError(t, httpDo(t, srv, b, "POST", "/v1/social/friends/"+a.UserID+"/accept", "", nil))
}

func sendHTTP(t *testing.T, srv *server.Server, from, to account, body string) uint64 {
	t.Helper()
	var sent struct {
		ID uint64 `json:"id"`
	}
	require.NoError(t, httpDo(t, srv, from, "POST", "/v1/social/messages/direct/"+to.UserID, `{"body":"`+body+`"}`, &sent))
	return sent.ID
}

func inboxHTTP(t *testing.T, srv *server.Server, a account) []string {
	t.Helper()
	var inbox struct{ Messages []social.MessageJSON }
	require.NoError(t, httpDo(t, srv, a, "GET", "/v1/social/inbox", "", &inbox))
	out := make([]string, len(inbox.Messages))
	for i, m := range inbox.Messages {
		out[i] = m.Body
	}
	return out
}

// TestHTTPInboxAckClampedToDelivered: an HTTP acknowledgement beyond the
// newest message the user was delivered acknowledges only what was
// delivered, so messages stored later are still in the inbox.
func TestHTTPInboxAckClampedToDelivered(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	befriendHTTP(t, srv, alice, bob) // bob has no session: only the HTTP inbox delivers

	sendHTTP(t, srv, alice, bob, "one")
	last := sendHTTP(t, srv, alice, bob, "two")
	require.Equal(t, []string{"one", "two"}, inboxHTTP(t, srv, bob))
	require.NoError(t, httpDo(t, srv, bob, "POST", "/v1/social/inbox/ack", fmt.Sprintf(`{"up_to":%d}`, last+1000), nil))
	assert.Empty(t, inboxHTTP(t, srv, bob), "what was delivered is acknowledged")

	sendHTTP(t, srv, alice, bob, "stored later")
	assert.Equal(t, []string{"stored later"}, inboxHTTP(t, srv, bob), "an ack beyond the delivered id skipped nothing stored later")

	// An ack of messages never delivered moves nothing: "stored later" was
	// delivered, "unseen" not.
	unseen := sendHTTP(t, srv, alice, bob, "unseen")
	require.NoError(t, httpDo(t, srv, bob, "POST", "/v1/social/inbox/ack", fmt.Sprintf(`{"up_to":%d}`, unseen), nil))
	assert.Equal(t, []string{"unseen"}, inboxHTTP(t, srv, bob))

	// A session's deliveries count too: a message pushed to bob's session
	// may be acknowledged over HTTP.
	b := dial(t, srv, bob.Token)
	pushed := b.message(t)
	assert.Equal(t, "unseen", pushed.Body, "the backlog is pushed to the new session")
	live := sendHTTP(t, srv, alice, bob, "live")
	assert.Equal(t, live, b.message(t).ID)
	require.NoError(t, httpDo(t, srv, bob, "POST", "/v1/social/inbox/ack", fmt.Sprintf(`{"up_to":%d}`, live+1000), nil))
	assert.Empty(t, inboxHTTP(t, srv, bob))
	after := sendHTTP(t, srv, alice, bob, "after")
	assert.Equal(t, after, b.message(t).ID)
	assert.Equal(t, []string{"after"}, inboxHTTP(t, srv, bob))
}

// TestHTTPStrictRequests: the social endpoints decode strictly and answer
// refusals with the API's statuses and codes.
func TestHTTPStrictRequests(t *testing.T) {
	srv := startServer(t, "", social.Config{})
	alice, bob := register(t, srv, "alice"), register(t, srv, "bob")
	befriendHTTP(t, srv, alice, bob)
	var g social.GroupJSON
	require.NoError(t, httpDo(t, srv, alice, "POST", "/v1/social/groups", `{"name":"raid","open":true}`, &g))
	require.NoError(t, httpDo(t, srv, bob, "POST", fmt.Sprintf("/v1/social/groups/%d/join", g.ID), "", nil))
	rolePath := fmt.Sprintf("/v1/social/groups/%d/members/%s/role", g.ID, bob.UserID)

	for name, tc := range map[string]struct {
		method, path, body string
		status             int
		code               netcode.Code
	}{
		"unknown field":   {"POST", "/v1/social/inbox/ack", `{"up_to":1,"all":true}`, 400, netcode.CodeBadRequest},
		"trailing data":   {"POST", "/v1/social/inbox/ack", `{"up_to":1} {"up_to":2}`, 400, netcode.CodeBadRequest},
		"wrong type":      {"POST", "/v1/social/inbox/ack", `{"up_to":"1"}`, 400, netcode.CodeBadRequest},
		"empty body":      {"POST", "/v1/social/friends/requests", ``, 400, netcode.CodeBadRequest},
		"over size":       {"POST", "/v1/social/messages/direct/" + bob.UserID, `{"body":"` + strings.Repeat("x", 40<<10) + `"}`, 413, netcode.CodeFrameTooLarge},
		"unknown role":    {"PUT", rolePath, `{"role":"superuser"}`, 400, netcode.CodeBadRequest},
		"owner role":      {"PUT", rolePath, `{"role":"owner"}`, 400, netcode.CodeBadRequest},
		"offline":         {"PUT", "/v1/social/presence", `{"presence":"offline"}`, 400, netcode.CodeBadRequest},
		"bidi status":     {"PUT", "/v1/social/presence", `{"presence":"away","status":"abc\u202Edef"}`, 400, netcode.CodeBadText},
		"bad group id":    {"POST", "/v1/social/groups/0/join", ``, 400, netcode.CodeBadRequest},
		"no such group":   {"POST", "/v1/social/groups/999999/join", ``, 404, netcode.CodeGroupNotFound},
		"no such friend":  {"POST", "/v1/social/friends/requests", `{"username":"nobody"}`, 404, netcode.CodeUserNotFound},
		"already friends": {"POST", "/v1/social/friends/requests", `{"username":"bob"}`, 409, netcode.CodeAlreadyFriends},
	} {
		status, _, e := rawDo(t, srv, alice.Token, tc.method, tc.path, tc.body)
		assert.Equal(t, tc.status, status, name)
		assert.Equal(t, uint16(tc.code), e.Code, "%s: %+v", name, e)
		assert.Equal(t, tc.code.String(), e.Error, name)
	}
	require.NoError(t, httpDo(t, srv, alice, "PUT", rolePath, `{"role":"admin"}`, nil), "a known role by name")

	status, h, e := rawDo(t, srv, "", "GET", "/v1/social/friends", "")
	assert.Equal(t, 401, status)
	assert.Equal(t, netcode.CodeNotAuthenticated.String(), e.Error)
	assert.Equal(t, `Bearer realm="tickwire"`, h.Get("WWW-Authenticate"))
	status, h, e = rawDo(t, srv, "forged.token", "GET", "/v1/social/friends", "")
	assert.Equal(t, 401, status)
	assert.Equal(t, netcode.CodeBadToken.String(), e.Error)
	assert.Equal(t, `Bearer realm="tickwire", error="invalid_token"`, h.Get("WWW-Authenticate"))
	guest, err := client.GuestToken(ctxT(t), srv.HTTPURL(), "visitor")
	require.NoError(t, err)
	status, _, e = rawDo(t, srv, guest, "GET", "/v1/social/groups", "")
	assert.Equal(t, 403, status)
	assert.Equal(t, netcode.CodeGuestNotAllowed.String(), e.Error)
}
