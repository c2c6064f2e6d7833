package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/internal/promx"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// The admin API and the drain (docs/OPERATIONS.md, "Admin API" and
// "Drain"): the JSON routes are mounted on the admin listener's mux,
// behind its token check.

// maxAdminBody bounds an admin request body.
const maxAdminBody = 4 << 10

// drainPoll is how often Drain looks at the open rooms.
const drainPoll = 50 * time.Millisecond

// AdminSession is one session in GET /v1/admin/sessions.
type AdminSession struct {
	engine.SessionInfo
	Rooms []uint64 `json:"rooms"`
}

// AdminReason is the body of a kick or a room close.
type AdminReason struct {
	Reason string `json:"reason"`
}

// adminActions are the admin API's actions, the label of
// tickwire_admin_actions_total (with result "ok" or the refusal's code
// name).
var adminActions = []string{"list_sessions", "list_rooms", "kick", "close_room", "notice", "drain"}

// AdminNotice is the body of POST /v1/admin/notice.
type AdminNotice struct {
	Text   string `json:"text"`              // 1 to 1024 bytes
	UserID string `json:"user_id,omitempty"` // empty: every session
}

// adminRoutes mounts the admin API on the admin listener's mux:
//
//	GET  /v1/admin/sessions              [AdminSession]
//	GET  /v1/admin/rooms                 {"rooms": [rooms.RoomStatus], "types": per-type tick stats}
//	POST /v1/admin/sessions/{id}/kick    {"reason"} -> 200 {"status":"kicked"}; the session ends with kicked (35)
//	POST /v1/admin/rooms/{id}/close      {"reason"} -> 200 {"status":"closed"}; members get RoomClosed room_closed (102)
//	POST /v1/admin/notice                {"text", "user_id"?} -> 200 {"sessions": n}; a Notice frame (kind 11, code 0)
//	POST /v1/admin/drain                 -> 202 {"status":"draining"}; Drain in the background (Done tells its end)
//	GET  /readyz, GET /healthz           as on the API port
func (s *Server) adminRoutes(mux *http.ServeMux) error {
	s.admActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: promx.Namespace, Name: "admin_actions_total",
		Help: "Admin API calls (after the token check), by action and result (ok or the refusal's code name).",
	}, []string{"action", "result"})
	for _, a := range adminActions {
		s.admActions.WithLabelValues(a, "ok")
	}
	if err := s.reg.Register(s.admActions); err != nil {
		return fmt.Errorf("server: metrics: %w", err)
	}
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.HandleFunc("GET /v1/admin/sessions", func(w http.ResponseWriter, r *http.Request) {
		infos := s.eng.Sessions()
		out := make([]AdminSession, len(infos))
		for i, si := range infos {
			out[i] = AdminSession{SessionInfo: si, Rooms: s.rooms.SessionRooms(si.ID)}
			if out[i].Rooms == nil {
				out[i].Rooms = []uint64{}
			}
		}
		s.adminDone(w, r, "list_sessions", http.StatusOK, out, nil)
	})
	mux.HandleFunc("GET /v1/admin/rooms", func(w http.ResponseWriter, r *http.Request) {
		st := s.rooms.Stats()
		s.adminDone(w, r, "list_rooms", http.StatusOK, map[string]any{"rooms": s.rooms.Rooms(), "types": st.Types}, nil)
	})
	mux.HandleFunc("POST /v1/admin/sessions/{id}/kick", func(w http.ResponseWriter, r *http.Request) {
		id, body, err := adminTarget(w, r)
		if err == nil {
			err = s.eng.Kick(id, body.Reason)
		}
		s.adminDone(w, r, "kick", http.StatusOK, map[string]string{"status": "kicked"}, err)
	})
	mux.HandleFunc("POST /v1/admin/rooms/{id}/close", func(w http.ResponseWriter, r *http.Request) {
		id, body, err := adminTarget(w, r)
		if err == nil {
			reason := body.Reason
			if reason == "" {
				reason = "closed by an operator"
			}
			err = s.rooms.CloseRoom(id, netcode.CodeRoomClosed, reason)
		}
		s.adminDone(w, r, "close_room", http.StatusOK, map[string]string{"status": "closed"}, err)
	})
	mux.HandleFunc("POST /v1/admin/notice", func(w http.ResponseWriter, r *http.Request) {
		var body AdminNotice
		n, err := 0, httpapi.DecodeJSON(w, r, &body, maxAdminBody)
		if err == nil {
			n, err = s.eng.Notice(body.UserID, netcode.CodeOK, body.Text)
		}
		s.adminDone(w, r, "notice", http.StatusOK, map[string]int{"sessions": n}, err)
	})
	mux.HandleFunc("POST /v1/admin/drain", func(w http.ResponseWriter, r *http.Request) {
		s.startDrain()
		s.adminDone(w, r, "drain", http.StatusAccepted, map[string]string{"status": "draining"}, nil)
	})
	return nil
}

// adminTarget reads the {id} of the path and the optional AdminReason body.
func adminTarget(w http.ResponseWriter, r *http.Request) (uint64, AdminReason, error) {
	var body AdminReason
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, body, netcode.Errorf(netcode.CodeBadRequest, "the id must be a positive decimal number")
	}
	if err := httpapi.DecodeOptionalJSON(w, r, &body, maxAdminBody); err != nil {
		return 0, body, err
	}
	if len(body.Reason) > 1024 {
		return 0, body, netcode.Errorf(netcode.CodeBadRequest, "reason above 1024 bytes")
	}
	return id, body, nil
}

// adminDone answers an admin call and counts it.
func (s *Server) adminDone(w http.ResponseWriter, r *http.Request, action string, status int, v any, err error) {
	if err != nil {
		s.admActions.WithLabelValues(action, netcode.CodeOf(err).String()).Inc()
		httpapi.WriteError(w, r, err)
		return
	}
	s.admActions.WithLabelValues(action, "ok").Inc()
	level := slog.LevelInfo
	if strings.HasPrefix(action, "list_") {
		level = slog.LevelDebug // the console polls the lists every second
	}
	httpapi.Logger(r).Log(r.Context(), level, "admin action", "action", action, "path", r.URL.Path) // with its request_id
	httpapi.WriteJSON(w, r, status, v)
}

// startDrain runs Drain once in the background, for the admin call: the
// rooms get Config.DrainTimeout (default 30 s), then the server shuts
// down within the engine's ShutdownTimeout; Done is closed at the end.
func (s *Server) startDrain() {
	if !s.eng.Drain() {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		d := s.cfg.DrainTimeout
		if d <= 0 {
			d = DefaultDrainTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		s.waitRooms(ctx)
		sctx, scancel := context.WithTimeout(context.Background(), s.eng.Config().ShutdownTimeout)
		defer scancel()
		if err := s.eng.Shutdown(sctx); err != nil {
			s.log.Warn("drain: engine shutdown did not finish cleanly", "err", err)
		}
	}()
}

// DefaultDrainTimeout is how long a drain started by the admin API lets
// rooms run when Config.DrainTimeout is zero.
const DefaultDrainTimeout = 30 * time.Second

// Drain drains the server (docs/OPERATIONS.md, "Drain"): the engine
// refuses new sessions and new rooms with netcode.CodeDraining and tells
// every session so (an Error with that code, ref 0); Drain then waits
// until no room is open or ctx is done. The caller shuts the server down
// next (Shutdown closes the sessions left with CodeDraining, each after
// its queue is flushed). It reports whether the rooms emptied in time.
func (s *Server) Drain(ctx context.Context) bool {
	s.eng.Drain()
	return s.waitRooms(ctx)
}

// waitRooms waits until no room is open (true) or ctx is done (false).
func (s *Server) waitRooms(ctx context.Context) bool {
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		n := s.rooms.OpenRooms()
		if n == 0 {
			s.log.Info("drain: every room has ended")
			return true
		}
		select {
		case <-ctx.Done():
			s.log.Warn("drain: deadline reached with rooms open", "rooms", n)
			return false
		case <-t.C:
		}
	}
}
