package rooms

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
)

// tickBuckets are the upper bounds (seconds) of the tick duration and
// lateness histograms exported to Prometheus: from 50 µs to a whole
// 1 Hz period.
var tickBuckets = []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// Collector returns a prometheus.Collector of the hub's counters (the
// ones Stats shows). The tick histograms are the hub's own lock-free
// ones, folded into tickBuckets at scrape time: a tick pays two atomic
// adds per histogram and nothing else. A duration is placed by its
// bucket's midpoint, so it may land one Prometheus bucket off when it is
// within ~6 % of a bound.
func (h *Hub) Collector() prometheus.Collector {
	var (
		rooms       = promx.Desc("rooms", "Rooms open now, by type.", "type")
		members     = promx.Desc("room_members", "Members of open rooms (joins being seated included), by type.", "type")
		clientRooms = promx.Desc("rooms_client_created", "Open rooms that clients created (the rooms MaxRooms bounds).")
		sessions    = promx.Desc("rooms_sessions", "Sessions known to the room hub.")
		created     = promx.Desc("rooms_created_total", "Rooms created, by type.", "type")
		closed      = promx.Desc("rooms_closed_total", "Rooms closed for any reason, by type.", "type")
		crashed     = promx.Desc("rooms_crashed_total", "Rooms closed because a handler panicked, by type.", "type")
		expired     = promx.Desc("rooms_expired_total", "Rooms closed after their empty timeout, by type.", "type")
		ticks       = promx.Desc("room_ticks_total", "Room ticks run, by type.", "type")
		skipped     = promx.Desc("room_ticks_skipped_total", "Tick deadlines skipped because a tick ran late (never replayed), by type.", "type")
		inputs      = promx.Desc("room_inputs_total", "Inputs handed to rooms, by type.", "type")
		sends       = promx.Desc("room_frames_sent_total", "Frames rooms queued to member sessions, by type.", "type")
		sendDropped = promx.Desc("room_frames_refused_total", "Frames a member session refused (slow or closed), by type.", "type")
		handlerDrop = promx.Desc("room_handler_dropped_total", "Inputs or messages room handlers dropped by their own bounds, by type.", "type")
		tickTime    = promx.Desc("room_tick_duration_seconds", "Tick duration (handler plus delivery to members), by type.", "type")
		lateness    = promx.Desc("room_tick_lateness_seconds", "How late ticks started against their deadline, by type.", "type")
		inputDrops  = promx.Desc("room_inputs_dropped_total", "Inputs dropped before they reached a room, by reason.", "reason")
		unanswered  = promx.Desc("room_input_errors_unanswered_total", "Refused inputs that got no Error frame back (MaxInputErrorsPerSecond).")
		refused     = promx.Desc("room_requests_refused_total", "Client room requests refused or adjusted, by reason.", "reason")

		vReceived  = promx.Desc("voice_frames_received_total", "Voice frames handed to voice rooms.")
		vForwarded = promx.Desc("voice_frames_forwarded_total", "Voice frames forwarded to at least one member.")
		vDelivered = promx.Desc("voice_deliveries_total", "Copies of voice frames queued to members (forwarded frames times their listeners).")
		vSpeaking  = promx.Desc("voice_speaking_started_total", "Speaking-start events of voice room members.")
		vDropped   = promx.Desc("voice_frames_dropped_total", "Voice frames dropped, by reason (muted, stale, duplicate, rate_limited, no_listener in the room; too_large, not_voice_room, not_member, inbox_full before it).", "reason")
		vSetRef    = promx.Desc("voice_state_changes_refused_total", "VoiceSet requests refused past the room's state change rate (voice_rate_limited).")
		aLinks     = promx.Desc("voice_audio_links", "Browser members' audio links attached to voice rooms now.")
		aAttached  = promx.Desc("voice_audio_links_attached_total", "Audio links attached to voice rooms.")
		aRefused   = promx.Desc("voice_audio_links_refused_total", "Audio link attachments refused, by reason (not_member, not_voice_room, limit).", "reason")
		aFrames    = promx.Desc("voice_audio_frames_total", "Voice frames handed to browser members' audio links.")
		aDropped   = promx.Desc("voice_audio_frames_dropped_total", "Voice frames for a browser member that its audio link did not take (not up yet, or its queue full).")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{rooms, members, clientRooms, sessions, created, closed, crashed, expired, ticks, skipped,
			inputs, sends, sendDropped, handlerDrop, tickTime, lateness, inputDrops, unanswered, refused,
			vReceived, vForwarded, vDelivered, vSpeaking, vDropped, vSetRef, aLinks, aAttached, aRefused, aFrames, aDropped},
		Read: func(ch chan<- prometheus.Metric) {
			st := h.Stats()
			promx.Gauge(ch, clientRooms, st.ClientRooms)
			promx.Gauge(ch, sessions, st.Sessions)
			promx.CounterMap(ch, inputDrops, map[string]uint64{
				"inbox_full": st.Drops.InboxFull, "rate_limited": st.Drops.RateLimited,
				"too_large": st.Drops.TooLarge, "not_member": st.Drops.NotMember,
			})
			promx.Counter(ch, unanswered, st.Drops.Unanswered)
			promx.CounterMap(ch, refused, map[string]uint64{
				"user_limit": st.Refused.UserLimit, "server_limit": st.Refused.ServerLimit,
				"bad_label": st.Refused.BadLabel, "tick_rate_capped": st.Refused.TickRateCapped,
				"empty_ttl_capped": st.Refused.EmptyTTLCapped, "bad_ticket": st.Refused.BadTicket,
			})
			v := st.Voice
			promx.Counter(ch, vReceived, v.Received)
			promx.Counter(ch, vForwarded, v.Forwarded)
			promx.Counter(ch, vDelivered, v.Deliveries)
			promx.Counter(ch, vSpeaking, v.Speaking)
			promx.Counter(ch, vSetRef, v.SetRateLimited)
			promx.CounterMap(ch, vDropped, map[string]uint64{
				"muted": v.Drops.Muted, "stale": v.Drops.Stale, "duplicate": v.Drops.Duplicate,
				"rate_limited": v.Drops.RateLimited, "no_listener": v.Drops.NoListener,
				"too_large": v.Drops.TooLarge, "not_voice_room": v.Drops.NotVoiceRoom,
				"not_member": v.Drops.NotMember, "inbox_full": v.Drops.InboxFull,
			})
			a := st.Audio
			promx.Gauge(ch, aLinks, a.Links)
			promx.Counter(ch, aAttached, a.Attached)
			promx.CounterMap(ch, aRefused, a.Refused)
			promx.Counter(ch, aFrames, a.Frames)
			promx.Counter(ch, aDropped, a.Dropped)
			h.mu.Lock()
			types := slices.Collect(maps.Values(h.types))
			seats := make(map[*roomType]int, len(types))
			for _, e := range h.rooms {
				seats[e.typ] += e.seats
			}
			h.mu.Unlock()
			for _, t := range types {
				promx.Gauge(ch, members, seats[t], t.name)
				s, name := &t.stats, t.name
				promx.Gauge(ch, rooms, s.rooms.Load(), name)
				promx.Counter(ch, created, s.created.Load(), name)
				promx.Counter(ch, closed, s.closed.Load(), name)
				promx.Counter(ch, crashed, s.crashed.Load(), name)
				promx.Counter(ch, expired, s.expired.Load(), name)
				promx.Counter(ch, ticks, s.ticks.Load(), name)
				promx.Counter(ch, skipped, s.skipped.Load(), name)
				promx.Counter(ch, inputs, s.inputs.Load(), name)
				promx.Counter(ch, sends, s.sends.Load(), name)
				promx.Counter(ch, sendDropped, s.sendDropped.Load(), name)
				promx.Counter(ch, handlerDrop, s.handlerDrop.Load(), name)
				ch <- s.tickTime.promHistogram(tickTime, tickBuckets, name)
				ch <- s.lateness.promHistogram(lateness, tickBuckets, name)
			}
		},
	}
}

// promHistogram folds the histogram into a Prometheus histogram with the
// given upper bounds (seconds, ascending), each fine bucket placed by its
// midpoint. Counts and sum are read without a lock, so a scrape racing a
// tick may see the tick in one and not the other; each is exact on its
// own.
func (h *histogram) promHistogram(d *prometheus.Desc, bounds []float64, labels ...string) prometheus.Metric {
	cum := make(map[float64]uint64, len(bounds))
	var count uint64
	for i := range h.counts {
		n := h.counts[i].Load()
		if n == 0 {
			continue
		}
		count += n
		v := time.Duration(histValue(i)).Seconds()
		for _, b := range bounds {
			if v <= b {
				cum[b] += n
			}
		}
	}
	for _, b := range bounds {
		cum[b] += 0 // every bound present, empty or not
	}
	sum := time.Duration(h.sum.Load()).Seconds()
	return prometheus.MustNewConstHistogram(d, count, sum, cum, labels...)
}
