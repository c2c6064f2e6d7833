package engine

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
)

// Stats is a snapshot of the engine's counters, served as JSON by
// GET /v1/stats on the admin listener (package server).
type Stats struct {
	SessionsOpen  int64  `json:"sessions_open"`
	SessionsTotal uint64 `json:"sessions_total"` // sessions ever accepted
	// Handshakes counts sessions that got a Welcome.
	Handshakes uint64 `json:"handshakes"`
	FramesIn   uint64 `json:"frames_in"`
	FramesOut  uint64 `json:"frames_out"`
	BytesIn    uint64 `json:"bytes_in"`
	BytesOut   uint64 `json:"bytes_out"`
	// Errors counts Error frames sent, by code name.
	Errors map[string]uint64 `json:"errors"`
	// Closes counts ended sessions by close code name (peer-initiated
	// closes count under their code too, normal ends under "ok").
	Closes map[string]uint64 `json:"closes"`
	// Drops counts frames not delivered, by reason: "unreliable_overflow"
	// (the oldest unreliable frame made room for a newer one),
	// "reliable_overflow" (the frame that closed a slow consumer),
	// "closed" (sent to a closing session), "rate_limited" (input over
	// the frame rate), "parked" (an unreliable frame to a session waiting
	// for a Resume).
	Drops map[string]uint64 `json:"drops"`
	// SessionsRefused counts connections closed with too_many_sessions
	// (or draining) before they became sessions, by reason: "per_ip"
	// (MaxSessionsPerIP), "global" (MaxSessions), "draining" (a
	// connection, or a Hello, while the engine drains).
	SessionsRefused map[string]uint64 `json:"sessions_refused"`
	// HTTP counts what the engine's own HTTP endpoints issued and refused
	// (guest tokens, CORS, TLS handshake failures).
	HTTP HTTPStats `json:"http"`
	// Resume counts parked and resumed sessions and refused Resumes.
	Resume ResumeStats `json:"resume"`
	// Ops counts the operator's actions (kicks) and shows the drain.
	Ops OpsStats `json:"ops"`
	// Listeners holds, by "transport/address", the snapshot of every
	// listener that implements netcode.ListenerStatsReporter (KCP:
	// handshakes, refusals, spoofed and malformed datagrams dropped).
	// Filled by Engine.ServiceStats and GET /v1/stats.
	Listeners map[string]netcode.ListenerStats `json:"listeners,omitempty"`
	// Services holds, by service name, the snapshot of every service that
	// implements service.StatsReporter (the room hub's per-type tick
	// timings, for one). Filled by Engine.ServiceStats and GET /v1/stats.
	Services map[string]any `json:"services,omitempty"`
}

// Drop reasons used in Stats.Drops.
const (
	dropUnreliableOverflow = iota
	dropReliableOverflow
	dropClosed
	dropRateLimited
	dropTooLarge // a reliable frame above the transport's message limit
	// promotedTooLarge counts unreliable frames above the transport's
	// datagram limit that were sent on the reliable channel instead.
	promotedTooLarge
	dropParked // an unreliable frame sent to a session waiting for a Resume
	numDrops
)

var dropNames = [numDrops]string{"unreliable_overflow", "reliable_overflow", "closed", "rate_limited", "too_large", "promoted_unreliable_too_large", "parked"}

// Reasons a connection is refused before it becomes a session, used in
// Stats.SessionsRefused.
const (
	refusedPerIP = iota
	refusedGlobal
	refusedDraining // Engine.Drain was called
	numRefused
)

var refusedNames = [numRefused]string{"per_ip", "global", "draining"}

// counters are the engine-wide counters; the hot ones are atomics, the
// per-code maps take a mutex (they move only on errors and closes).
type counters struct {
	sessionsOpen  atomic.Int64
	sessionsTotal atomic.Uint64
	handshakes    atomic.Uint64
	drops         [numDrops]atomic.Uint64
	refused       [numRefused]atomic.Uint64
	resume        resumeCounters

	mu     sync.Mutex // guards the maps below
	errors map[netcode.Code]uint64
	closes map[netcode.Code]uint64
}

func (c *counters) countError(code netcode.Code) {
	c.mu.Lock()
	if c.errors == nil {
		c.errors = map[netcode.Code]uint64{}
	}
	c.errors[code]++
	c.mu.Unlock()
}

func (c *counters) countClose(code netcode.Code) {
	c.mu.Lock()
	if c.closes == nil {
		c.closes = map[netcode.Code]uint64{}
	}
	c.closes[code]++
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	s := Stats{
		SessionsOpen:  c.sessionsOpen.Load(),
		SessionsTotal: c.sessionsTotal.Load(),
		Handshakes:    c.handshakes.Load(),
		Errors:        map[string]uint64{},
		Closes:        map[string]uint64{},
		Drops:         map[string]uint64{},

		SessionsRefused: map[string]uint64{},
	}
	for i := range c.drops {
		s.Drops[dropNames[i]] = c.drops[i].Load()
	}
	for i := range c.refused {
		s.SessionsRefused[refusedNames[i]] = c.refused[i].Load()
	}
	c.mu.Lock()
	for k, v := range c.errors {
		s.Errors[k.String()] = v
	}
	for k, v := range c.closes {
		s.Closes[k.String()] = v
	}
	c.mu.Unlock()
	return s
}

// ServiceStats returns Stats with Services filled from every service
// that implements service.StatsReporter, and Listeners from every
// listener given to Serve (until Shutdown) that implements
// netcode.ListenerStatsReporter.
func (e *Engine) ServiceStats() Stats {
	st := e.Stats()
	e.mu.Lock()
	listeners := slices.Clone(e.listeners)
	e.mu.Unlock()
	for _, l := range listeners {
		if r, ok := l.(netcode.ListenerStatsReporter); ok {
			ls := r.ListenerStats()
			if st.Listeners == nil {
				st.Listeners = map[string]netcode.ListenerStats{}
			}
			st.Listeners[ls.Transport+"/"+ls.Addr] = ls
		}
	}
	for _, svc := range e.cfg.Services {
		if r, ok := svc.(service.StatsReporter); ok {
			if st.Services == nil {
				st.Services = map[string]any{}
			}
			st.Services[svc.Name()] = r.ServiceStats()
		}
	}
	return st
}
