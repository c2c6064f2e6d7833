package engine

import (
	"cmp"
	"slices"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Operations: what the admin API and the drain on SIGTERM do to the
// engine (docs/OPERATIONS.md, "Admin API" and "Drain").

// ErrSessionNotFound answers an operation naming no open session.
var ErrSessionNotFound = &netcode.CodedError{Code: netcode.CodeNotFound, Msg: "no open session with that id"}

// SessionInfo is one authenticated session as an operator sees it.
type SessionInfo struct {
	ID     uint64 `json:"id"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Guest  bool   `json:"guest"`
	// Transport and Remote are the live connection's; empty while the
	// session is parked waiting for a Resume.
	Transport string `json:"transport,omitempty"`
	Remote    string `json:"remote,omitempty"`
	// RTTMillis is the transport's smoothed round-trip estimate
	// (netcode.RTTOf, every transport; one system call per TCP-based
	// session); 0 before the first sample.
	RTTMillis float64 `json:"rtt_ms,omitempty"`
	// Retransmits, LossRate and Redundancy are the transport's, where it
	// has them (KCP; WebRTC retransmissions): a session that retransmits
	// or copies a lot is on a lossy path or behind a stalled peer.
	Retransmits uint64  `json:"retransmits,omitempty"`
	LossRate    float64 `json:"loss_rate,omitempty"`
	Redundancy  int     `json:"redundancy,omitempty"`
	Parked      bool    `json:"parked,omitempty"`
}

// Sessions lists the authenticated sessions (live or parked), by id.
func (e *Engine) Sessions() []SessionInfo {
	e.mu.Lock()
	peers := make([]*peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()
	out := make([]SessionInfo, 0, len(peers))
	for _, p := range peers {
		si := SessionInfo{ID: p.id, UserID: p.userID, Name: p.name, Guest: p.guest}
		if s := p.conn.Load(); s != nil {
			si.Transport = s.conn.Transport()
			si.Remote = s.conn.RemoteAddr().String()
			si.RTTMillis = float64(netcode.RTTOf(s.conn).Microseconds()) / 1000
			st := s.conn.Stats()
			si.Retransmits, si.LossRate, si.Redundancy = st.Retransmits, st.LossRate, st.Redundancy
		} else {
			si.Parked = true
		}
		out = append(out, si)
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Peers returns every authenticated session (live or parked).
func (e *Engine) Peers() []service.Peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]service.Peer, 0, len(e.peers))
	for _, p := range e.peers {
		out = append(out, p)
	}
	return out
}

// Kick ends a session for good with netcode.CodeKicked and reason: its
// queued frames are flushed, then a Close frame carries the code. The
// session is not parked, so it cannot be resumed; a parked one ends at
// once. Counted in Stats.Ops.Kicks.
func (e *Engine) Kick(id uint64, reason string) error {
	e.mu.Lock()
	p, ok := e.peers[id]
	e.mu.Unlock()
	if !ok {
		return ErrSessionNotFound
	}
	e.ops.kicks.Add(1)
	e.log.Info("session kicked", "session", id, "user", p.userID, "reason", reason)
	p.Close(netcode.CodeKicked, netcode.TruncateUTF8(reason, frame.MaxMessageLen))
	return nil
}

// Notice pushes a Notice frame (kind 11) with code and text to every
// authenticated session, or only to userID's when it is not empty, and
// returns how many sessions it was queued to. It is best effort: a
// session parked for a Resume misses it (Notice is not numbered).
// Counted in Stats.Ops.Notices.
func (e *Engine) Notice(userID string, code netcode.Code, text string) (int, error) {
	if text == "" || len(text) > frame.MaxMessageLen {
		return 0, netcode.Errorf(netcode.CodeBadRequest, "notice text must be 1 to %d bytes", frame.MaxMessageLen)
	}
	b, err := frame.Marshal(&frame.Notice{Code: code, Text: text})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range e.Peers() {
		if userID != "" && p.UserID() != userID {
			continue
		}
		if p.Send(netcode.Reliable, b) {
			n++
		}
	}
	e.ops.notices.Add(1)
	return n, nil
}

// Drain starts draining; only the first call does anything and reports
// true. From then on connections are refused with netcode.CodeDraining
// at accept (Stats.SessionsRefused["draining"]), and so is a Hello on a
// connection accepted before (a Resume is still served: its rooms run
// on); services that implement service.Drainer are told (the room hub
// refuses new rooms); every authenticated session is sent an Error with
// CodeDraining and ref 0. Sessions and rooms run on: the caller waits for
// the rooms to empty or its deadline, then calls Shutdown, which closes
// the sessions left with CodeDraining after their queues are flushed.
func (e *Engine) Drain() bool {
	if !e.draining.CompareAndSwap(false, true) {
		return false
	}
	e.log.Info("engine draining")
	for _, s := range e.cfg.Services {
		if d, ok := s.(service.Drainer); ok {
			d.Drain()
		}
	}
	b, err := frame.Marshal(&frame.Error{Code: netcode.CodeDraining, Message: "the server is draining: reconnect elsewhere after a backoff"})
	if err != nil {
		e.log.Error("encoding the draining notice", "err", err)
		return true
	}
	for _, p := range e.Peers() {
		e.c.countError(netcode.CodeDraining)
		p.Send(netcode.Reliable, b)
	}
	return true
}

// Draining reports whether Drain was called: /readyz answers 503 then.
func (e *Engine) Draining() bool { return e.draining.Load() }

// OpsStats counts the operator's actions on the engine.
type OpsStats struct {
	Kicks    uint64 `json:"kicks"`
	Notices  uint64 `json:"notices"`
	Draining bool   `json:"draining"`
}

func (e *Engine) opsStats() OpsStats {
	return OpsStats{Kicks: e.ops.kicks.Load(), Notices: e.ops.notices.Load(), Draining: e.draining.Load()}
}
