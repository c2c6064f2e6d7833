package webrtc

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickwire/tickwire/internal/promx"
)

// Collector returns a prometheus.Collector of the listener's audio SFU
// counters (docs/OPERATIONS.md, "netcode/webrtc"): browser audio links
// and their tracks now, links answered, RTP packets in and out, frames
// dropped by reason. It reads the counters at scrape time; the media
// paths pay nothing for it. The assembly registers it for every WebRTC
// listener it opens.
func (l *Listener) Collector() prometheus.Collector {
	// The listener's address is a constant label: two WebRTC listeners
	// register two collectors whose descriptors differ by it.
	addr := prometheus.Labels{"addr": l.Addr().String()}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(promx.Namespace+"_"+name, help, labels, addr)
	}
	var (
		links   = desc("sfu_links", "Browser audio links (subscribers of the audio SFU) open now.")
		tracks  = desc("sfu_tracks", "Outgoing audio tracks (speaker slots) of the open links, summed.")
		opened  = desc("sfu_links_opened_total", "Audio offers answered with a link.")
		packets = desc("sfu_rtp_packets_total", "RTP packets read from browsers (in) and written to them (out).", "direction")
		dropped = desc("sfu_frames_dropped_total", "Voice frames for a browser the SFU dropped, by reason (queue_full: the link's queue was full; no_slot: every slot held a recent speaker; write_error: the RTP write failed).", "reason")
	)
	return &promx.Collector{
		Descs: []*prometheus.Desc{links, tracks, opened, packets, dropped},
		Read: func(ch chan<- prometheus.Metric) {
			c := &l.audio
			promx.Gauge(ch, links, max(c.links.Load(), 0))
			promx.Gauge(ch, tracks, max(c.tracks.Load(), 0))
			promx.Counter(ch, opened, c.opened.Load())
			promx.Counter(ch, packets, c.rtpIn.Load(), "in")
			promx.Counter(ch, packets, c.rtpOut.Load(), "out")
			promx.Counter(ch, dropped, c.queueFull.Load(), "queue_full")
			promx.Counter(ch, dropped, c.noSlot.Load(), "no_slot")
			promx.Counter(ch, dropped, c.writeError.Load(), "write_error")
		},
	}
}
