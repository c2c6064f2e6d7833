package social

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
)

// Collector returns a prometheus.Collector of the service's counters (the
// ones Stats shows), read at scrape time.
func (s *Service) Collector() prometheus.Collector {
	var (
		stored     = promx.Desc("social_messages_stored_total", "Direct and group messages stored.")
		delivered  = promx.Desc("social_messages_delivered_total", "Messages pushed to recipients' sessions.")
		backlog    = promx.Desc("social_backlog_messages_total", "Backlog message frames queued to sessions at login.")
		sendFailed = promx.Desc("social_send_failed_total", "Pushes refused because the recipient session was closing.")
		pending    = promx.Desc("social_pending_dropped_total", "Live messages dropped from a syncing session's pending list (read again from the store later).")
		presence   = promx.Desc("social_presence_pushes_total", "Presence updates pushed to friends.")
		online     = promx.Desc("social_users_online", "Users with at least one session now.")
		sessions   = promx.Desc("social_sessions", "Sessions known to the social service.")
		queued     = promx.Desc("social_requests_queued", "Realtime social requests waiting for a worker.")
		refused    = promx.Desc("social_requests_refused_total", "Social requests refused by a capacity limit, by reason.", "reason")
		cut        = promx.Desc("social_lists_cut_total", "List replies cut to fit one frame.")
		signals    = promx.Desc("social_signals_relayed_total", "Signaling payloads relayed.")
		sigRefused = promx.Desc("social_signals_refused_total", "Signaling payloads refused, by reason.", "reason")
		calls      = promx.Desc("social_calls", "Calls now, by state.", "state")
		invited    = promx.Desc("social_calls_invited_total", "Calls started (ringing).")
		clPub      = promx.Desc("social_cluster_published_total", "Envelopes published to the broker for other nodes.")
		clRecv     = promx.Desc("social_cluster_received_total", "Envelopes received from other nodes.")
		clDrop     = promx.Desc("social_cluster_dropped_total", "Envelopes from the broker refused: too large, malformed or of an unknown kind.")
		clOver     = promx.Desc("social_cluster_overflow_total", "Envelopes dropped because the outbound queue to the broker was full.")
		clErr      = promx.Desc("social_cluster_errors_total", "Publishes and subscriptions the broker refused (NATS down or reconnecting).")
		clResync   = promx.Desc("social_cluster_resyncs_total", "Sessions sent their inbox again from the store (after a broker outage or a missed message).")
		clHeld     = promx.Desc("social_cluster_acks_held_total", "Acknowledgements held back because the store had a message this node never delivered.")
		clUsers    = promx.Desc("social_cluster_remote_users", "Users other nodes show online or away.")
		clIdle     = promx.Desc("social_cluster_remote_idle", "(user, node) pairs another node shows only within its presence grace, without a session.")
		clCalls    = promx.Desc("social_cluster_remote_calls", "Calls other nodes own with a party on this node.")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{stored, delivered, backlog, sendFailed, pending, presence, online, sessions, queued,
			refused, cut, signals, sigRefused, calls, invited, clPub, clRecv, clDrop, clOver, clErr, clResync, clHeld,
			clUsers, clIdle, clCalls},
		Also: []prometheus.Collector{s.stLat},
		Read: func(ch chan<- prometheus.Metric) {
			st := s.Stats()
			promx.Counter(ch, stored, st.Stored)
			promx.Counter(ch, delivered, st.Delivered)
			promx.Counter(ch, backlog, st.Backlog)
			promx.Counter(ch, sendFailed, st.SendFailed)
			promx.Counter(ch, pending, st.PendingDrops)
			promx.Counter(ch, presence, st.PresencePushes)
			promx.Gauge(ch, online, st.OnlineUsers)
			promx.Gauge(ch, sessions, st.Sessions)
			promx.Gauge(ch, queued, st.Queued)
			promx.CounterMap(ch, refused, map[string]uint64{
				"inbox_full": st.Refused.InboxFull, "peer_queue": st.Refused.PeerQueue,
				"shutdown": st.Refused.Shutdown, "social_limit": st.Refused.SocialLimit,
			})
			promx.Counter(ch, cut, st.ListsCut)
			promx.Counter(ch, signals, st.Signal.Relayed)
			r := st.Signal.Refused
			promx.CounterMap(ch, sigRefused, map[string]uint64{
				"too_large": r.TooLarge, "rate_limited": r.RateLimited, "no_relation": r.NoRelation,
				"not_in_call": r.NotInCall, "offline": r.Offline, "invalid": r.Invalid,
			})
			promx.Gauge(ch, calls, st.Calls.Ringing, "ringing")
			promx.Gauge(ch, calls, st.Calls.Active, "active")
			promx.Counter(ch, invited, st.Calls.Invited)
			promx.Counter(ch, clPub, st.Cluster.Published)
			promx.Counter(ch, clRecv, st.Cluster.Received)
			promx.Counter(ch, clDrop, st.Cluster.Dropped)
			promx.Counter(ch, clOver, st.Cluster.Overflow)
			promx.Counter(ch, clErr, st.Cluster.Errors)
			promx.Counter(ch, clResync, st.Cluster.Resyncs)
			promx.Counter(ch, clHeld, st.Cluster.Held)
			promx.Gauge(ch, clUsers, st.Cluster.RemoteUsers)
			promx.Gauge(ch, clIdle, st.Cluster.RemoteIdle)
			promx.Gauge(ch, clCalls, st.Cluster.RemoteCalls)
		},
	}
}
