package social

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/httpapi"
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
	for pattern, h := range map[string]userHandler{
		"GET /v1/social/friends":                        s.httpFriends,
		"POST /v1/social/friends/requests":              s.httpRequestFriend,
		"POST /v1/social/friends/{id}/accept":           s.httpAcceptFriend,
		"POST /v1/social/friends/{id}/decline":          s.httpDeclineFriend,
		"DELETE /v1/social/friends/{id}":                s.httpRemoveFriend,
		"POST /v1/social/blocks/{id}":                   s.httpBlock,
		"DELETE /v1/social/blocks/{id}":                 s.httpUnblock,
		"GET /v1/social/groups":                         s.httpGroups,
		"POST /v1/social/groups":                        s.httpCreateGroup,
		"POST /v1/social/groups/{id}/join":              s.httpJoinGroup,
		"POST /v1/social/groups/{id}/invites":           s.httpInvite,
		"POST /v1/social/groups/{id}/accept":            s.httpAcceptInvite,
		"POST /v1/social/groups/{id}/decline":           s.httpDeclineInvite,
		"POST /v1/social/groups/{id}/leave":             s.httpLeaveGroup,
		"GET /v1/social/groups/{id}/members":            s.httpMembers,
		"DELETE /v1/social/groups/{id}/members/{uid}":   s.httpRemoveMember,
		"PUT /v1/social/groups/{id}/members/{uid}/role": s.httpSetRole,
		"POST /v1/social/messages/direct/{uid}":         s.httpSendDirect,
		"POST /v1/social/messages/group/{id}":           s.httpSendGroup,
		"GET /v1/social/messages/direct/{uid}":          s.httpDirectHistory,
		"GET /v1/social/messages/group/{id}":            s.httpGroupHistory,
		"GET /v1/social/inbox":                          s.httpInbox,
		"POST /v1/social/inbox/ack":                     s.httpAck,
		"PUT /v1/social/presence":                       s.httpSetPresence,
	} {
		mux.Handle(pattern, s.authenticated(h))
	}
}

// userHandler answers one request of an authenticated registered user: a
// value to answer as JSON (nil: {}) or an error for httpapi.WriteError.
type userHandler func(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error)

// authenticated runs h for a request with a valid bearer token of a
// registered user.
func (s *Service) authenticated(h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.cfg.Auth.Authenticate(r)
		if err == nil && c.Guest {
			err = ErrGuest
		}
		var out any
		if err == nil {
			out, err = h(w, r, c)
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if out == nil {
			out = struct{}{}
		}
		httpapi.WriteJSON(w, r, http.StatusOK, out)
	})
}

// ---- friends and blocks ----

func (s *Service) httpFriends(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	fs, more, err := s.Friends(r.Context(), c.UserID, r.URL.Query().Get("after"))
	if err != nil {
		return nil, err
	}
	out := make([]FriendJSON, len(fs))
	for i, f := range fs {
		out[i] = friendJSON(f)
	}
	return map[string]any{"friends": out, "more": more}, nil
}

// friendRequest is the body of POST /v1/social/friends/requests.
type friendRequest struct {
	Username string `json:"username"`
}

func (s *Service) httpRequestFriend(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	var req friendRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	return nil, s.RequestFriend(r.Context(), s.cfg.Now(), c.UserID, req.Username)
}

func (s *Service) httpAcceptFriend(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return nil, s.AcceptFriend(r.Context(), s.cfg.Now(), c.UserID, r.PathValue("id"))
}

func (s *Service) httpDeclineFriend(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return nil, s.DeclineFriend(r.Context(), s.cfg.Now(), c.UserID, r.PathValue("id"))
}

func (s *Service) httpRemoveFriend(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return nil, s.RemoveFriend(r.Context(), s.cfg.Now(), c.UserID, r.PathValue("id"))
}

func (s *Service) httpBlock(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return nil, s.Block(r.Context(), s.cfg.Now(), c.UserID, r.PathValue("id"))
}

func (s *Service) httpUnblock(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return nil, s.Unblock(r.Context(), s.cfg.Now(), c.UserID, r.PathValue("id"))
}

// ---- groups ----

func (s *Service) httpGroups(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	gs, err := s.Groups(r.Context(), c.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]GroupJSON, len(gs))
	for i, g := range gs {
		out[i] = groupJSON(g)
	}
	return map[string]any{"groups": out}, nil
}

// createGroupRequest is the body of POST /v1/social/groups.
type createGroupRequest struct {
	Name string `json:"name"`
	Open bool   `json:"open"`
}

func (s *Service) httpCreateGroup(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	var req createGroupRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	g, err := s.CreateGroup(r.Context(), s.cfg.Now(), c.UserID, req.Name, frame.GroupAccess(req.Open))
	if err != nil {
		return nil, err
	}
	return groupJSON(g), nil
}

func (s *Service) httpJoinGroup(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return nil, s.JoinGroup(r.Context(), s.cfg.Now(), c.UserID, id)
}

// inviteRequest is the body of POST /v1/social/groups/{id}/invites.
type inviteRequest struct {
	UserID string `json:"user_id"`
}

func (s *Service) httpInvite(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	var req inviteRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	return nil, s.InviteToGroup(r.Context(), s.cfg.Now(), c.UserID, id, req.UserID)
}

func (s *Service) httpAcceptInvite(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return nil, s.AcceptInvite(r.Context(), s.cfg.Now(), c.UserID, id)
}

func (s *Service) httpDeclineInvite(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return nil, s.DeclineInvite(r.Context(), s.cfg.Now(), c.UserID, id)
}

func (s *Service) httpLeaveGroup(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return nil, s.LeaveGroup(r.Context(), s.cfg.Now(), c.UserID, id)
}

func (s *Service) httpMembers(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
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
		out[i] = MemberJSON{UserID: m.UserID, DisplayName: m.DisplayName, Role: m.Role.String(), Presence: m.Presence.String()}
	}
	return map[string]any{"members": out, "more": more}, nil
}

func (s *Service) httpRemoveMember(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return nil, s.RemoveMember(r.Context(), s.cfg.Now(), c.UserID, id, r.PathValue("uid"))
}

// setRoleRequest is the body of PUT /v1/social/groups/{id}/members/{uid}/role.
type setRoleRequest struct {
	Role frame.Role `json:"role"` // "member" or "admin"
}

func (s *Service) httpSetRole(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	var req setRoleRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	return nil, s.SetRole(r.Context(), s.cfg.Now(), c.UserID, id, r.PathValue("uid"), req.Role)
}

// ---- messages ----

// sendRequest is the body of POST /v1/social/messages/....
type sendRequest struct {
	Body string `json:"body"`
}

// sentResponse answers a message send: the stored message's id and time.
type sentResponse struct {
	ID     uint64 `json:"id"`
	TimeUs int64  `json:"time_us"`
}

func (s *Service) httpSendDirect(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	var req sendRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	id, at, err := s.SendDirect(r.Context(), s.cfg.Now(), c.UserID, c.Name, r.PathValue("uid"), req.Body)
	if err != nil {
		return nil, err
	}
	return sentResponse{ID: id, TimeUs: at}, nil
}

func (s *Service) httpSendGroup(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	var req sendRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	msgID, at, err := s.SendGroup(r.Context(), s.cfg.Now(), c.UserID, c.Name, id, req.Body)
	if err != nil {
		return nil, err
	}
	return sentResponse{ID: msgID, TimeUs: at}, nil
}

func (s *Service) httpDirectHistory(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	return s.history(r, c, 0, r.PathValue("uid"))
}

func (s *Service) httpGroupHistory(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	return s.history(r, c, id, "")
}

// history answers a page of a conversation: a group's (groupID) or the
// direct one with other.
func (s *Service) history(r *http.Request, c auth.Claims, groupID uint64, other string) (any, error) {
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

func (s *Service) httpInbox(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	n, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	msgs, err := s.Inbox(r.Context(), c.UserID, n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"messages": messagesJSON(msgs)}, nil
}

// ackRequest is the body of POST /v1/social/inbox/ack.
type ackRequest struct {
	UpTo uint64 `json:"up_to"`
}

func (s *Service) httpAck(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	var req ackRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	return nil, s.Ack(r.Context(), c.UserID, req.UpTo)
}

// presenceRequest is the body of PUT /v1/social/presence.
type presenceRequest struct {
	Presence frame.Presence `json:"presence"` // "online" or "away"
	Status   string         `json:"status"`
}

func (s *Service) httpSetPresence(w http.ResponseWriter, r *http.Request, c auth.Claims) (any, error) {
	var req presenceRequest
	if err := httpapi.DecodeJSON(w, r, &req, maxHTTPBody); err != nil {
		return nil, err
	}
	return nil, s.SetPresence(r.Context(), s.cfg.Now(), c.UserID, req.Presence, req.Status)
}

// ---- JSON shapes ----

// FriendJSON is a friend entry in the HTTP API.
type FriendJSON struct {
	UserID      string     `json:"user_id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	State       string     `json:"state"`              // frame.FriendState: friend, incoming, outgoing, blocked
	Presence    string     `json:"presence,omitempty"` // frame.Presence: online, away, offline (friends only)
	Status      string     `json:"status,omitempty"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
}

// GroupJSON is a group entry in the HTTP API.
type GroupJSON struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Open    bool   `json:"open"`
	Role    string `json:"role"` // frame.Role: owner, admin, member, invited
	Members uint32 `json:"members"`
	OwnerID string `json:"owner_id"`
}

// MemberJSON is a group member in the HTTP API.
type MemberJSON struct {
	UserID      string `json:"user_id"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`     // frame.Role
	Presence    string `json:"presence"` // frame.Presence
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
	out := FriendJSON{UserID: f.UserID, Username: f.Username, DisplayName: f.DisplayName, State: f.State.String()}
	if f.State == frame.FriendAccepted {
		out.Presence, out.Status = f.Presence.String(), f.StatusText
		if f.LastSeenUs > 0 {
			t := time.UnixMicro(f.LastSeenUs).UTC()
			out.LastSeen = &t
		}
	}
	return out
}

func groupJSON(g frame.Group) GroupJSON {
	return GroupJSON{ID: g.ID, Name: g.Name, Open: g.Open, Role: g.Role.String(), Members: g.Members, OwnerID: g.OwnerID}
}

func messagesJSON(msgs []frame.ChatMessage) []MessageJSON {
	out := make([]MessageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = MessageJSON{ID: m.ID, GroupID: m.GroupID, From: m.FromUserID, To: m.ToUserID, FromName: m.FromName, TimeUs: m.TimeUs, Body: m.Body}
	}
	return out
}

// ---- path and query parameters ----

// groupID reads the {id} path value: a positive group id.
func groupID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 63)
	if err != nil || id == 0 {
		return 0, badRequest("group id must be a positive integer")
	}
	return id, nil
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
