package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// maxHTTPBody bounds the responses the client reads.
const maxHTTPBody = 64 << 10

// GuestToken asks the server at httpBase (e.g. "http://127.0.0.1:7780")
// for a guest token. name is optional. A server error is returned as a
// *netcode.CodedError with the server's code. It is API{Base: httpBase}
// .GuestToken: an https:// server is verified against the system roots.
func GuestToken(ctx context.Context, httpBase, name string) (string, error) {
	return API{Base: httpBase}.GuestToken(ctx, name)
}

// GuestToken asks the server for a guest token. name is optional.
func (a API) GuestToken(ctx context.Context, name string) (string, error) {
	var resp struct {
		Token string `json:"token"`
	}
	if err := PostJSON(ctx, a.HTTP, a.url("/v1/auth/guest"), map[string]string{"name": name}, &resp); err != nil {
		return "", err
	}
	if resp.Token == "" {
		return "", fmt.Errorf("client: guest token: empty token in response")
	}
	return resp.Token, nil
}

// Account is what register and login answer: a token for Dial and the
// user it names.
type Account struct {
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"` // display name
	ExpiresAt time.Time `json:"expires_at"`
}

// Register creates an account on the server at httpBase and returns its
// first token. Refusals (bad_username, bad_password, username_taken,
// rate limits) are *netcode.CodedError values.
func Register(ctx context.Context, httpBase, username, password string) (Account, error) {
	return API{Base: httpBase}.Register(ctx, username, password)
}

// Login exchanges a username and password for a token. A wrong password
// and an unknown user both give netcode.CodeInvalidCredentials.
func Login(ctx context.Context, httpBase, username, password string) (Account, error) {
	return API{Base: httpBase}.Login(ctx, username, password)
}

// Register creates an account and returns its first token.
func (a API) Register(ctx context.Context, username, password string) (Account, error) {
	return a.credentials(ctx, "/v1/auth/register", username, password)
}

// Login exchanges a username and password for a token.
func (a API) Login(ctx context.Context, username, password string) (Account, error) {
	return a.credentials(ctx, "/v1/auth/login", username, password)
}

func (a API) credentials(ctx context.Context, path, username, password string) (Account, error) {
	var acct Account
	body := map[string]string{"username": username, "password": password}
	if err := PostJSON(ctx, a.HTTP, a.url(path), body, &acct); err != nil {
		return Account{}, err
	}
	if acct.Token == "" {
		return Account{}, fmt.Errorf("client: %s: empty token in response", path)
	}
	return acct, nil
}

// PostJSON posts body as JSON to url and decodes a 2xx answer into out
// (if non-nil). A non-2xx answer becomes a *netcode.CodedError carrying
// the code and message of the server's {"error","code","message"} body.
// hc may be nil (http.DefaultClient). The accounts and social helpers use
// it too.
func PostJSON(ctx context.Context, hc *http.Client, url string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("client: encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return DoJSON(hc, req, out)
}

// DoJSON sends req and decodes the answer like PostJSON.
func DoJSON(hc *http.Client, req *http.Request, out any) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, netcode.TLSFailure(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading response: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		if code, msg, ours := httpapi.ReadError(resp.StatusCode, data); ours {
			return &netcode.CodedError{Code: code, Msg: msg}
		}
		return fmt.Errorf("client: %s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: decoding response: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
