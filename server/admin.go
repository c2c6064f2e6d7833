package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickwire/tickwire/internal/promx"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

// MinAdminTokenLen is the shortest admin token the admin listener takes.
const MinAdminTokenLen = 16

// Reasons the admin listener refuses a request, the label of
// tickwire_admin_refused_total.
const (
	adminNoToken = iota
	adminBadToken
	numAdminRefusals
)

var adminRefusalNames = [numAdminRefusals]string{"missing_token", "wrong_token"}

// admin is the admin listener: its own address and HTTP server, every
// route behind the admin token (Config.Engine.AdminToken).
type admin struct {
	l       net.Listener
	srv     *http.Server
	want    [sha256.Size]byte // the admin token's hash, compared in constant time
	refused *prometheus.CounterVec
}

// newRegistry builds the server's own metrics registry (never the global
// default one): the Go runtime and process collectors, then one
// collector per package that counts (engine and its listeners, rooms,
// social), the HTTP server's requests and the admin listener's refusals.
func (s *Server) newRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	s.admRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: promx.Namespace, Name: "admin_refused_total",
		Help: "Admin listener requests refused for a missing or wrong admin token, by reason.",
	}, []string{"reason"})
	for _, name := range adminRefusalNames {
		s.admRefused.WithLabelValues(name) // present at 0 from the start
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.eng.Collector(),
		s.rooms.Collector(),
		s.social.Collector(),
		s.httpm,
		s.admRefused,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: metrics: %w", err)
		}
	}
	return reg, nil
}

// metricsOwner is a listener that counts things of its own beyond
// netcode.ListenerStats and exposes them as Prometheus series (the
// WebRTC listener's audio SFU).
type metricsOwner interface {
	Collector() prometheus.Collector
}

// registerListener registers l's own collector, if it has one, on the
// server's registry.
func (s *Server) registerListener(l netcode.Listener) error {
	if m, ok := l.(metricsOwner); ok {
		if err := s.reg.Register(m.Collector()); err != nil {
			return fmt.Errorf("server: metrics of listener %s: %w", l.Addr(), err)
		}
	}
	return nil
}

// checkAdmin refuses an admin listener without a usable token.
func checkAdmin(cfg Config) error {
	if cfg.AdminAddr == "" {
		return nil
	}
	if n := len(cfg.Engine.AdminToken); n < MinAdminTokenLen {
		return fmt.Errorf("%w: AdminAddr needs Engine.AdminToken of at least %d bytes (have %d)", ErrBadConfig, MinAdminTokenLen, n)
	}
	return nil
}

// startAdmin opens the admin listener on Config.AdminAddr. Its routes:
//
//	GET /metrics          Prometheus exposition of Server.Metrics
//	GET /debug/pprof/...  net/http/pprof
//	GET /v1/stats         the engine's ServiceStats as JSON
//	/v1/admin/...         the admin API (ops.go)
//
// every one behind Authorization: Bearer <Config.Engine.AdminToken>; only
// the console's static files (GET /console and its script and style,
// console.go) load without it, and the page sends the token on its fetches.
func (s *Server) startAdmin() error {
	l, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("server: admin listen %s: %w", s.cfg.AdminAddr, err)
	}
	a := &admin{l: l, want: sha256.Sum256([]byte(s.cfg.Engine.AdminToken)), refused: s.admRefused}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, r, http.StatusOK, s.eng.ServiceStats())
	})
	if err := s.adminRoutes(mux); err != nil { // the admin API (ops.go)
		_ = l.Close()
		return err
	}
	a.srv = &http.Server{
		// Every request gets an X-Request-Id, and every line logged about
		// it (refusals, actions, internal errors) its request_id.
		Handler:           httpapi.WithRequestID(s.withConsole(a.authorize(mux)), s.log.With("listener", "admin")), // GET /console without the token (console.go)
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// CPU profiles and traces write for ?seconds= (pprof refuses a
		// duration past the write timeout): up to a minute.
		WriteTimeout:   70 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       httpapi.ServerErrorLog(s.log.Handler(), nil),
	}
	s.admin = a
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := a.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "err", err)
		}
	}()
	return nil
}

// authorize lets through the requests that carry the admin token,
// compared in constant time (both sides hashed first, so that not even
// the length leaks); the others get 401 with a coded error and count
// under tickwire_admin_refused_total.
func (a *admin) authorize(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := httpapi.BearerToken(r)
		if !ok {
			a.refused.WithLabelValues(adminRefusalNames[adminNoToken]).Inc()
			httpapi.Logger(r).Debug("admin request refused", "reason", adminRefusalNames[adminNoToken], "path", r.URL.Path) // Debug: a prober must not fill the log
			w.Header().Set("WWW-Authenticate", `Bearer realm="tickwire-admin"`)
			httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeNotAuthenticated, "the admin token is required"))
			return
		}
		got := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(got[:], a.want[:]) != 1 {
			a.refused.WithLabelValues(adminRefusalNames[adminBadToken]).Inc()
			httpapi.Logger(r).Debug("admin request refused", "reason", adminRefusalNames[adminBadToken], "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="tickwire-admin", error="invalid_token"`)
			httpapi.WriteError(w, r, netcode.Errorf(netcode.CodeBadToken, "wrong admin token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// AdminAddr is the admin listener's bound address, or "" when it is off.
func (s *Server) AdminAddr() string {
	if s.admin == nil {
		return ""
	}
	return s.admin.l.Addr().String()
}

// Metrics is the server's metrics registry, the one the admin listener's
// /metrics serves. An embedder registers its own collectors on it.
func (s *Server) Metrics() *prometheus.Registry { return s.reg }
