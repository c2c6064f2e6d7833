package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
)

// tokenResponse is the HTTP API's answer to register, login, refresh and
// guest.
type tokenResponse struct {
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username,omitempty"`
	Name      string    `json:"name"`
	Guest     bool      `json:"guest"`
	ExpiresAt time.Time `json:"expires_at"`
}

// meResponse is the answer to GET /v1/me.
type meResponse struct {
	UserID         string     `json:"user_id"`
	Username       string     `json:"username,omitempty"`
	Name           string     `json:"name"`
	Guest          bool       `json:"guest"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	TokenExpiresAt time.Time  `json:"token_expires_at"`
}

// loginJSON is what --json prints after register, login, guest, refresh.
type loginJSON struct {
	Type      string    `json:"type"` // "login"
	Profile   string    `json:"profile"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username,omitempty"`
	Name      string    `json:"name"`
	Guest     bool      `json:"guest"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *app) httpClient(s settings) *http.Client {
	hc := &http.Client{Timeout: a.timeout()}
	if s.tls != nil {
		hc = client.HTTPClient(s.tls)
		hc.Timeout = a.timeout()
	}
	return hc
}

// post sends a JSON request to the HTTP API, with the bearer token if
// given.
func (a *app) post(ctx context.Context, s settings, path, bearer string, body, out any) error {
	if bearer == "" {
		return httpHint(s, client.PostJSON(ctx, a.httpClient(s), s.http+path, body, out))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.http+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	return httpHint(s, client.DoJSON(a.httpClient(s), req, out))
}

// httpHint adds a hint to an HTTP failure that did not come from the
// server's API.
func httpHint(s settings, err error) error {
	if err == nil || isCoded(err) {
		return err
	}
	return fmt.Errorf("%w (is a tickwire server's HTTP API at %s? see --http)", err, s.http)
}

// saveLogin stores a token answer in the profile and prints it.
func (a *app) saveLogin(s settings, verb string, t tokenResponse) error {
	p := profile{
		HTTP: s.http, Addr: s.addr, Transport: s.transport, TLSCA: s.tlsCA,
		Token: t.Token, UserID: t.UserID, Username: t.Username, Name: t.Name, Guest: t.Guest, ExpiresAt: t.ExpiresAt,
	}
	if p.Username == "" && !p.Guest {
		p.Username = s.profile.Username // refresh answers may omit it
	}
	if err := saveProfile(s.dir, s.profileName, p); err != nil {
		return err
	}
	who := p.Username
	if p.Guest {
		who = p.Name + " (guest)"
	}
	a.emit(fmt.Sprintf("%s %s, user id %s; token saved in profile %q until %s",
		verb, who, p.UserID, s.profileName, p.ExpiresAt.Local().Format(time.DateTime)),
		loginJSON{Type: "login", Profile: s.profileName, UserID: p.UserID, Username: p.Username, Name: p.Name, Guest: p.Guest, ExpiresAt: p.ExpiresAt})
	return nil
}

func (a *app) cmdRegister(ctx context.Context, args []string) error {
	return a.credentials(ctx, "register", args)
}

func (a *app) cmdLogin(ctx context.Context, args []string) error {
	return a.credentials(ctx, "login", args)
}

// credentials runs register or login: both post {"username", "password"}
// (register may add "display_name") and save the token they answer.
func (a *app) credentials(ctx context.Context, cmd string, args []string) error {
	register := cmd == "register"
	fs := a.flags(cmd)
	pwFlag := fs.String("password", "", "password (env TICKCTL_PASSWORD; else prompted, or read from stdin)")
	display := new(string)
	if register {
		display = fs.String("display-name", "", "display name (default: the username)")
	}
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	s, err := a.settings()
	if err != nil {
		return err
	}
	use := existingPassword
	if register {
		use = newPassword
	}
	pw, err := a.password(*pwFlag, use)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	body := map[string]string{"username": pos[0], "password": pw}
	path, verb := "/v1/auth/login", "logged in as"
	if register {
		path, verb = "/v1/auth/register", "registered"
		if *display != "" {
			body["display_name"] = *display
		}
	}
	var t tokenResponse
	if err := a.post(ctx, s, path, "", body, &t); err != nil {
		return err
	}
	return a.saveLogin(s, verb, t)
}

func (a *app) cmdGuest(ctx context.Context, args []string) error {
	pos, err := a.parse(a.flags("guest"), args, 0, 1)
	if err != nil {
		return err
	}
	s, err := a.settings()
	if err != nil {
		return err
	}
	name := ""
	if len(pos) == 1 {
		name = pos[0]
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	var t tokenResponse
	if err := a.post(ctx, s, "/v1/auth/guest", "", map[string]string{"name": name}, &t); err != nil {
		return err
	}
	t.Guest = true
	return a.saveLogin(s, "guest", t)
}

// loggedIn returns the settings and insists on a token.
func (a *app) loggedIn() (settings, error) {
	s, err := a.settings()
	if err != nil {
		return s, err
	}
	if s.token == "" {
		return s, fmt.Errorf("not logged in (profile %q): run `tickctl --profile %s login USER`, `register USER` or `guest`", s.profileName, s.profileName)
	}
	return s, nil
}

func (a *app) cmdLogout(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("logout"), args, 0, 0); err != nil {
		return err
	}
	s, err := a.loggedIn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	if err := a.post(ctx, s, "/v1/auth/logout", s.token, nil, nil); err != nil {
		var ce *netcode.CodedError
		if !errors.As(err, &ce) {
			return err
		}
		switch ce.Code {
		case netcode.CodeTokenRevoked, netcode.CodeTokenExpired, netcode.CodeBadToken:
			// Nothing left to revoke: forget the login all the same.
			a.note("the server had already dropped the token (%s)", ce.Code)
		default:
			return err
		}
	}
	if s.hasProfile && (a.g.token == "" || s.profile.Token == s.token) {
		if err := deleteProfile(s.dir, s.profileName); err != nil {
			return err
		}
	}
	a.emit(fmt.Sprintf("logged out (profile %q forgotten)", s.profileName), map[string]string{"type": "logout", "profile": s.profileName})
	return nil
}

func (a *app) cmdRefresh(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("refresh"), args, 0, 0); err != nil {
		return err
	}
	s, err := a.loggedIn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	var t tokenResponse
	if err := a.post(ctx, s, "/v1/auth/refresh", s.token, nil, &t); err != nil {
		return err
	}
	return a.saveLogin(s, "refreshed", t)
}

func (a *app) cmdWhoami(ctx context.Context, args []string) error {
	if _, err := a.parse(a.flags("whoami"), args, 0, 0); err != nil {
		return err
	}
	s, err := a.loggedIn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.http+"/v1/me", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	var me meResponse
	if err := client.DoJSON(a.httpClient(s), req, &me); err != nil {
		return httpHint(s, err)
	}
	who := me.Username
	if me.Guest {
		who = "guest"
	}
	a.emit(fmt.Sprintf("%s (%s), user id %s, profile %q, server %s, token valid until %s",
		who, me.Name, me.UserID, s.profileName, s.http, me.TokenExpiresAt.Local().Format(time.DateTime)),
		struct {
			Type    string `json:"type"` // "me"
			Profile string `json:"profile"`
			meResponse
		}{"me", s.profileName, me})
	return nil
}
