package social

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// maxHTTPBody bounds request bodies.
const maxHTTPBody = 32 << 10

// Routes implements service.Router: the HTTP JSON API under /v1/social/
// (bearer token auth; guests get 403 guest_not_allowed). Without
// Config.Auth it registers nothing. docs/SOCIAL.md lists the endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	if s.cfg.Auth == nil {
		return
	}
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c, err := s.cfg.Auth.Authenticate(r)
			if err != nil {
				writeError(w, err)
				return
			}
			if c.Guest {
				writeError(w, ErrGuest)
				return
			}
			out, err := fn(w, r, c)
			if err != nil {
				writeError(w, err)
				return
			}
			if out == nil {
				out = struct{}{}
			}
			writeJSON(w, http.StatusOK, out)
		})
	}
	now := s.cfg.Now

	h("GET /v1/social/friends", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		fs, more, err := s.Friends(r.Context(), c.UserID, r.URL.Query().Get("after"))
		if err != nil {
			return nil, err
		}
		out := make([]FriendJSON, len(fs))
		for i, f := range fs {
			out[i] = friendJSON(f)
		}
		return map[string]any{"friends": out, "more": more}, nil
	})
	h("POST /v1/social/friends/requests", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		var req struct {
			Username string `json:"username"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		return nil, s.RequestFriend(r.Context(), now(), c.UserID, req.Username)
	})
	h("POST /v1/social/friends/{id}/accept", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return nil, s.AcceptFriend(r.Context(), now(), c.UserID, r.PathValue("id"))
	})
	h("POST /v1/social/friends/{id}/decline", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return nil, s.DeclineFriend(r.Context(), now(), c.UserID, r.PathValue("id"))
	})
	h("DELETE /v1/social/friends/{id}", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return nil, s.RemoveFriend(r.Context(), now(), c.UserID, r.PathValue("id"))
	})
	h("POST /v1/social/blocks/{id}", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return nil, s.Block(r.Context(), now(), c.UserID, r.PathValue("id"))
	})
	h("DELETE /v1/social/blocks/{id}", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return nil, s.Unblock(r.Context(), now(), c.UserID, r.PathValue("id"))
	})

	h("GET /v1/social/groups", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		gs, err := s.Groups(r.Context(), c.UserID)
		if err != nil {
			return nil, err
		}
		out := make([]GroupJSON, len(gs))
		for i, g := range gs {
			out[i] = groupJSON(g)
		}
		return map[string]any{"groups": out}, nil
	})
	h("POST /v1/social/groups", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		var req struct {
			Name string `json:"name"`
			Open bool   `json:"open"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		g, err := s.CreateGroup(r.Context(), now(), c.UserID, req.Name, req.Open)
		if err != nil {
			return nil, err
		}
		return groupJSON(g), nil
	})
	group := func(pattern string, fn func(r *http.Request, c auth.Claims, id uint64) (any, error)) {
		h(pattern, func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
			id, err := strconv.ParseUint(r.PathValue("id"), 10, 63)
			if err != nil {
				return nil, badRequest("group id must be a positive integer")
			}
			return fn(r, c, id)
		})
	}
	group("POST /v1/social/groups/{id}/join", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return nil, s.JoinGroup(r.Context(), now(), c.UserID, id)
	})
	group("POST /v1/social/groups/{id}/invites", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		var req struct {
			UserID string `json:"user_id"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		return nil, s.InviteToGroup(r.Context(), now(), c.UserID, id, req.UserID)
	})
	group("POST /v1/social/groups/{id}/accept", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return nil, s.AcceptInvite(r.Context(), now(), c.UserID, id)
	})
	group("POST /v1/social/groups/{id}/decline", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return nil, s.DeclineInvite(r.Context(), now(), c.UserID, id)
	})
	group("POST /v1/social/groups/{id}/leave", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return nil, s.LeaveGroup(r.Context(), now(), c.UserID, id)
	})
	group("GET /v1/social/groups/{id}/members", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		n, err := queryInt(r, "limit")
		if err != nil {
			return nil, err
		}
		ms, more, err := s.Members(r.Context(), c.UserID, id, r.URL.Query().Get("after"), n)
		if err != nil {
			return nil, err
		}
		out := make([]MemberJSON, len(ms))
		for i, m := range ms {
			out[i] = MemberJSON{UserID: m.UserID, DisplayName: m.DisplayName, Role: roleName(m.Role), Presence: presenceName(m.Presence)}
		}
		return map[string]any{"members": out, "more": more}, nil
	})
	group("DELETE /v1/social/groups/{id}/members/{uid}", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return nil, s.RemoveMember(r.Context(), now(), c.UserID, id, r.PathValue("uid"))
	})
	group("PUT /v1/social/groups/{id}/members/{uid}/role", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		var req struct {
			Role string `json:"role"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		role := map[string]frame.Role{"member": frame.RoleMember, "admin": frame.RoleAdmin}[req.Role]
		return nil, s.SetRole(r.Context(), now(), c.UserID, id, r.PathValue("uid"), role)
	})

	type sendReq struct {
		Body string `json:"body"`
	}
	sent := func(id uint64, at int64, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": id, "time_us": at}, nil
	}
	h("POST /v1/social/messages/direct/{uid}", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		var req sendReq
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		return sent(s.SendDirect(r.Context(), now(), c.UserID, c.Name, r.PathValue("uid"), req.Body))
	})
	group("POST /v1/social/messages/group/{id}", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		var req sendReq
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		return sent(s.SendGroup(r.Context(), now(), c.UserID, c.Name, id, req.Body))
	})
	history := func(r *http.Request, c auth.Claims, groupID uint64, other string) (any, error) {
		before, err := queryUint(r, "before")
		if err != nil {
			return nil, err
		}
		n, err := queryInt(r, "limit")
		if err != nil {
			return nil, err
		}
		msgs, more, err := s.History(r.Context(), c.UserID, groupID, other, before, n)
		if err != nil {
			return nil, err
		}
		return map[string]any{"messages": messagesJSON(msgs), "more": more}, nil
	}
	h("GET /v1/social/messages/direct/{uid}", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		return history(r, c, 0, r.PathValue("uid"))
	})
	group("GET /v1/social/messages/group/{id}", func(r *http.Request, c auth.Claims, id uint64) (any, error) {
		return history(r, c, id, "")
	})
	h("GET /v1/social/inbox", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		n, err := queryInt(r, "limit")
		if err != nil {
			return nil, err
		}
		msgs, err := s.Inbox(r.Context(), c.UserID, n)
		if err != nil {
			return nil, err
		}
		return map[string]any{"messages": messagesJSON(msgs)}, nil
	})
	h("POST /v1/social/inbox/ack", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		var req struct {
			UpTo uint64 `json:"up_to"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		return nil, s.Ack(r.Context(), c.UserID, req.UpTo)
	})
	h("PUT /v1/social/presence", func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
		var req struct {
			Presence string `json:"presence"`
			Status   string `json:"status"`
		}
		if err := readJSON(r, &req); err != nil {
			return nil, err
		}
		p := map[string]frame.Presence{"online": frame.PresenceOnline, "away": frame.PresenceAway}[req.Presence]
		return nil, s.SetPresence(r.Context(), now(), c.UserID, p, req.Status)
	})
}

// FriendJSON is a friend entry in the HTTP API.
type FriendJSON struct {
	UserID      string     `json:"user_id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	State       string     `json:"state"`              // friend, incoming, outgoing, blocked
	Presence    string     `json:"presence,omitempty"` // online, away, offline (friends only)
	Status      string     `json:"status,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
}

// GroupJSON is a group entry in the HTTP API.
type GroupJSON struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Open    bool   `json:"open"`
	Role    string `json:"role"` // owner, admin, member, invited
	Members uint32 `json:"members"`
	OwnerID string `json:"owner_id"`
}

// MemberJSON is a group member in the HTTP API.
type MemberJSON struct {
	UserID      string `json:"user_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Presence    string `json:"presence"`
}

// MessageJSON is a message in the HTTP API.
type MessageJSON struct {
	ID       uint64 `json:"id"`
	GroupID  uint64 `json:"group_id,omitempty"`
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	FromName string `json:"from_name"`
	TimeUs   int64  `json:"time_us"`
	Body     string `json:"body"`
}

func friendJSON(f frame.Friend) FriendJSON {
	out := FriendJSON{UserID: f.UserID, Username: f.Username, DisplayName: f.DisplayName,
		State: [...]string{"none", "incoming", "outgoing", "friend", "blocked"}[min(int(f.State), 4)]}
	if f.State == frame.FriendAccepted {
		out.Presence, out.Status = presenceName(f.Presence), f.StatusText
		if f.LastSeenUs > 0 {
			t := time.UnixMicro(f.LastSeenUs).UTC()
			out.LastSeen = &t
		}
	}
	return out
}

func groupJSON(g frame.Group) GroupJSON {
	return GroupJSON{ID: g.ID, Name: g.Name, Open: g.Open, Role: roleName(g.Role), Members: g.Members, OwnerID: g.OwnerID}
}

func messagesJSON(msgs []frame.ChatMessage) []MessageJSON {
	out := make([]MessageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = MessageJSON{ID: m.ID, GroupID: m.GroupID, From: m.FromUserID, To: m.ToUserID, FromName: m.FromName, TimeUs: m.TimeUs, Body: m.Body}
	}
	return out
}

func roleName(r frame.Role) string {
	return [...]string{"invited", "member", "admin", "owner"}[min(int(r), 3)]
}

func presenceName(p frame.Presence) string {
	return [...]string{"offline", "online", "away"}[min(int(p), 2)]
}

// queryUint reads an optional non-negative integer query parameter (0
// when absent); a malformed one is a CodeBadRequest, not a silent 0.
func queryUint(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("query parameter %s=%q is not a non-negative integer", name, v))
	}
	return n, nil
}

// queryInt is queryUint for counts (limits are clamped by the service).
func queryInt(r *http.Request, name string) (int, error) {
	n, err := queryUint(r, name)
	if err != nil {
		return 0, err
	}
	return int(min(n, math.MaxInt32)), nil
}

func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxHTTPBody+1))
	if err != nil {
		return badRequest("reading body: " + err.Error())
	}
	if len(body) > maxHTTPBody {
		return &netcode.CodedError{Code: netcode.CodeFrameTooLarge, Msg: "request body too large"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("invalid JSON: " + err.Error())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

// writeError answers with the error's code, in the engine's
// {"error","code","message"} shape.
func writeError(w http.ResponseWriter, err error) {
	code := netcode.CodeOf(err)
	msg := err.Error()
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		msg = ce.Msg
	}
	if code == netcode.CodeInternal {
		msg = "internal error"
	}
	writeJSON(w, httpStatus(code), struct {
		Error   string `json:"error"`
		Code    uint16 `json:"code"`
		Message string `json:"message,omitempty"`
	}{code.String(), uint16(code), msg})
}

func httpStatus(c netcode.Code) int {
	switch c {
	case netcode.CodeNotAuthenticated, netcode.CodeBadToken, netcode.CodeTokenExpired, netcode.CodeTokenRevoked:
		return http.StatusUnauthorized
	case netcode.CodeUserNotFound, netcode.CodeGroupNotFound, netcode.CodeRequestNotFound, netcode.CodeNotFound:
		return http.StatusNotFound
	case netcode.CodeNotFriends, netcode.CodeBlocked, netcode.CodeNotGroupMember, netcode.CodeGroupInviteOnly,
		netcode.CodeNotGroupAdmin, netcode.CodeGuestNotAllowed, netcode.CodeForbidden:
		return http.StatusForbidden
	case netcode.CodeAlreadyFriends, netcode.CodeAlreadyMember, netcode.CodeSocialLimit:
		return http.StatusConflict
	case netcode.CodeMessageTooLarge, netcode.CodeFrameTooLarge:
		return http.StatusRequestEntityTooLarge
	case netcode.CodeMessageRateLimited, netcode.CodeRateLimited:
		return http.StatusTooManyRequests
	case netcode.CodeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}
