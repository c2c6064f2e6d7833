package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
	"github.com/tickwire/tickwire/netcode"
)

// Collector returns a prometheus.Collector of the engine's counters (the
// ones Stats shows) and of every listener given to Serve that implements
// netcode.ListenerStatsReporter. It reads the counters at scrape time:
// the session paths pay nothing for it. The assembly registers it on a
// registry of its own (docs/OPERATIONS.md lists the metrics).
func (e *Engine) Collector() prometheus.Collector {
	var (
		open      = promx.Desc("sessions", "Sessions connected now (handshaking ones included; parked sessions count in tickwire_sessions_parked).")
		opened    = promx.Desc("sessions_opened_total", "Sessions accepted.")
		closed    = promx.Desc("sessions_closed_total", "Sessions ended, by close code (normal ends under ok).", "code")
		refused   = promx.Desc("sessions_refused_total", "Connections refused before they became sessions, by reason.", "reason")
		welcomed  = promx.Desc("handshakes_total", "Sessions that completed the Hello handshake (got a Welcome).")
		framesIn  = promx.Desc("frames_received_total", "Frames received from sessions.")
		framesOut = promx.Desc("frames_sent_total", "Frames written to sessions.")
		bytesIn   = promx.Desc("received_bytes_total", "Bytes of frames received from sessions.")
		bytesOut  = promx.Desc("sent_bytes_total", "Bytes of frames written to sessions.")
		drops     = promx.Desc("frames_dropped_total", "Frames not delivered, by reason.", "reason")
		errs      = promx.Desc("errors_sent_total", "Error frames sent, by code.", "code")
		parked    = promx.Desc("sessions_parked", "Sessions waiting for a Resume now.")
		resumed   = promx.Desc("resumes_total", "Resumes accepted.")
		resumeRef = promx.Desc("resumes_refused_total", "Resumes refused, by reason.", "reason")
		parkRef   = promx.Desc("parks_refused_total", "Lost sessions ended at once because a cap on parked sessions was reached, by cap.", "reason")
		guests    = promx.Desc("guest_tokens_total", "Guest tokens issued.")
		guestRef  = promx.Desc("guest_tokens_refused_total", "Guest token requests refused, by reason.", "reason")
		tlsFail   = promx.Desc("http_tls_handshake_failures_total", "HTTPS connections whose TLS handshake failed.")

		lSessions = promx.Desc("transport_sessions", "Connections open now on a listener, by transport.", "transport", "addr")
		lStarted  = promx.Desc("transport_handshakes_started_total", "Handshakes begun on a listener (KCP: Hellos answered with a cookie).", "transport", "addr")
		lAccepted = promx.Desc("transport_accepted_total", "Connections a listener handed to the engine.", "transport", "addr")
		lRefused  = promx.Desc("transport_handshakes_refused_total", "Handshakes a listener refused, by reason.", "transport", "addr", "reason")
		lDrops    = promx.Desc("transport_dropped_total", "Datagrams or connections a listener dropped before they reached a session, by reason (KCP: unauthenticated covers spoofed sources and bad cookies).", "transport", "addr", "reason")
		lAcceptEr = promx.Desc("transport_accept_errors_total", "Failed accepts of a listener's socket.", "transport", "addr")
		tConns    = promx.Desc("transport_connections", "Sessions' connections open now, by transport.", "transport")
		tRedund   = promx.Desc("transport_redundant_connections", "Connections sending redundant copies of each datagram now (KCP loss-adaptive redundancy), by transport.", "transport")
		tCopies   = promx.Desc("transport_redundancy_copies", "Extra copies of each datagram the live connections send now, summed (KCP loss-adaptive redundancy level; divide by tickwire_transport_redundant_connections for the mean level), by transport.", "transport")
		tFramesIn = promx.Desc("transport_messages_received_total", "Messages sessions' connections received, by transport.", "transport")
		tFramesOu = promx.Desc("transport_messages_sent_total", "Messages sessions' connections sent, by transport.", "transport")
		tBytesIn  = promx.Desc("transport_received_bytes_total", "Bytes sessions' connections received (wire bytes where the transport knows them), by transport.", "transport")
		tBytesOut = promx.Desc("transport_sent_bytes_total", "Bytes sessions' connections sent (wire bytes where the transport knows them: headers, retransmissions and redundant copies included), by transport.", "transport")
		tDrops    = promx.Desc("transport_messages_dropped_total", "Messages sessions' connections dropped, by transport and reason (stale, queue_full, too_large, malformed, closed, unauthenticated, replayed).", "transport", "reason")
		tRetrans  = promx.Desc("transport_retransmits_total", "Reliable segments sent again (KCP), by transport.", "transport")
		tRedBytes = promx.Desc("transport_redundant_bytes_total", "Bytes of redundant datagram copies sent (KCP), by transport.", "transport")
		cFramesIn = promx.Desc("transport_frames_received_total", "Frames received from sessions, by transport and channel (reliable, unreliable).", "transport", "channel")
		cFramesOu = promx.Desc("transport_frames_sent_total", "Frames written to sessions, by transport and channel (an unreliable frame promoted to the reliable channel counts as reliable).", "transport", "channel")
		cBytesIn  = promx.Desc("transport_frame_received_bytes_total", "Bytes of frames received from sessions, by transport and channel.", "transport", "channel")
		cBytesOut = promx.Desc("transport_frame_sent_bytes_total", "Bytes of frames written to sessions, by transport and channel.", "transport", "channel")
		lIO       = promx.Desc("transport_io_total", "A transport's own traffic counters, by name (KCP: datagrams_in, datagrams_out, read_calls, write_calls...).", "transport", "addr", "name")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{open, opened, closed, refused, welcomed, framesIn, framesOut, bytesIn, bytesOut,
			drops, errs, parked, resumed, resumeRef, parkRef, guests, guestRef, tlsFail,
			lSessions, lStarted, lAccepted, lRefused, lDrops, lAcceptEr, lIO,
			tConns, tRedund, tCopies, tFramesIn, tFramesOu, tBytesIn, tBytesOut, tDrops, tRetrans, tRedBytes, cFramesIn, cFramesOu, cBytesIn, cBytesOut},
		Read: func(ch chan<- prometheus.Metric) {
			st := e.ServiceStats()
			promx.Gauge(ch, open, st.SessionsOpen)
			promx.Counter(ch, opened, st.SessionsTotal)
			promx.CounterMap(ch, closed, st.Closes)
			promx.CounterMap(ch, refused, st.SessionsRefused)
			promx.Counter(ch, welcomed, st.Handshakes)
			promx.Counter(ch, framesIn, st.FramesIn)
			promx.Counter(ch, framesOut, st.FramesOut)
			promx.Counter(ch, bytesIn, st.BytesIn)
			promx.Counter(ch, bytesOut, st.BytesOut)
			promx.CounterMap(ch, drops, st.Drops)
			promx.CounterMap(ch, errs, st.Errors)
			promx.Gauge(ch, parked, st.Resume.Parked)
			promx.Counter(ch, resumed, st.Resume.Resumed)
			promx.CounterMap(ch, resumeRef, st.Resume.Refused)
			promx.CounterMap(ch, parkRef, st.Resume.ParkRefused)
			promx.Counter(ch, guests, st.HTTP.GuestTokens)
			promx.CounterMap(ch, guestRef, st.HTTP.GuestRefused)
			promx.Counter(ch, tlsFail, st.HTTP.TLSHandshakeFailures)
			for _, ls := range st.Listeners {
				collectListener(ch, ls, lSessions, lStarted, lAccepted, lRefused, lDrops, lAcceptEr, lIO)
			}
			for name, t := range e.transportTotals() {
				promx.Gauge(ch, tConns, t.conns, name)
				promx.Gauge(ch, tRedund, t.redundant, name)
				promx.Gauge(ch, tCopies, t.copies, name)
				promx.Counter(ch, tFramesIn, t.MessagesRecv, name)
				promx.Counter(ch, tFramesOu, t.MessagesSent, name)
				promx.Counter(ch, tBytesIn, t.BytesRecv, name)
				promx.Counter(ch, tBytesOut, t.BytesSent, name)
				for r, n := range t.Drops {
					promx.Counter(ch, tDrops, n, name, netcode.DropReason(r).String())
				}
				promx.Counter(ch, tRetrans, t.Retransmits, name)
				promx.Counter(ch, tRedBytes, t.RedundantBytes, name)
				for c := range t.frames {
					chName := netcode.Channel(c).String()
					promx.Counter(ch, cFramesIn, t.frames[c].FramesIn, name, chName)
					promx.Counter(ch, cFramesOu, t.frames[c].FramesOut, name, chName)
					promx.Counter(ch, cBytesIn, t.frames[c].BytesIn, name, chName)
					promx.Counter(ch, cBytesOut, t.frames[c].BytesOut, name, chName)
				}
			}
		},
		Also: []prometheus.Collector{e.rtt.hist},
	}
}

// collectListener sends one listener's snapshot, labelled by transport
// and address.
func collectListener(ch chan<- prometheus.Metric, ls netcode.ListenerStats, sessions, started, accepted, refused, drops, acceptErrs, io *prometheus.Desc) {
	promx.Gauge(ch, sessions, ls.Sessions, ls.Transport, ls.Addr)
	promx.Counter(ch, started, ls.HandshakesStarted, ls.Transport, ls.Addr)
	promx.Counter(ch, accepted, ls.Accepted, ls.Transport, ls.Addr)
	promx.CounterMap(ch, refused, ls.Refused, ls.Transport, ls.Addr)
	promx.CounterMap(ch, drops, ls.Drops, ls.Transport, ls.Addr)
	promx.Counter(ch, acceptErrs, ls.AcceptErrors, ls.Transport, ls.Addr)
	promx.CounterMap(ch, io, ls.IO, ls.Transport, ls.Addr)
}

// connTotals sums connections' netcode.Stats by transport name. The
// engine keeps the totals of ended connections (Engine.ended, guarded by
// Engine.mu); a scrape adds the live ones, so every counter derived from
// it only grows.
type connTotals map[string]*connTotal

// connTotal is the sum of some connections' counters, and for live ones
// how many there are and how many send redundant copies now.
type connTotal struct {
	netcode.Stats
	conns     int
	redundant int
	copies    int        // sum of live connections' redundancy levels
	frames    chanTotals // the sessions' frames and bytes by channel
}

func (t *connTotals) add(transport string, st netcode.Stats) {
	if *t == nil {
		*t = connTotals{}
	}
	c := (*t)[transport]
	if c == nil {
		c = &connTotal{}
		(*t)[transport] = c
	}
	c.BytesSent += st.BytesSent
	c.BytesRecv += st.BytesRecv
	c.MessagesSent += st.MessagesSent
	c.MessagesRecv += st.MessagesRecv
	for i := range st.Drops {
		c.Drops[i] += st.Drops[i]
	}
	c.Retransmits += st.Retransmits
	c.RedundantBytes += st.RedundantBytes
}

// transportTotals is the counters of every connection the engine has
// served, ended and live, by transport. The live connections' Stats are
// read outside the engine's lock.
func (e *Engine) transportTotals() connTotals {
	e.mu.Lock()
	totals := make(connTotals, len(e.ended))
	for name, c := range e.ended {
		cp := *c
		totals[name] = &cp
	}
	live := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		live = append(live, s)
	}
	e.mu.Unlock()
	for _, s := range live {
		st := s.conn.Stats()
		name := s.conn.Transport()
		totals.add(name, st)
		t := totals[name]
		t.frames.add(s.chc.snapshot())
		t.conns++
		if st.Redundancy > 0 {
			t.redundant++
			t.copies += st.Redundancy
		}
	}
	return totals
}
