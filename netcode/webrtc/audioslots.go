package webrtc

import (
	"time"

	"github.com/pion/rtp"
)

// slotTable is the sans-IO core of one browser's downlink: it maps the
// room's speakers onto the browser's K slot tracks (negotiated once, so
// members coming and going need no renegotiation) and rewrites each
// frame's sequence number and timestamp so that every slot is one
// continuous RTP stream. The member number travels in the packet's CSRC
// list (RFC 3550 §5.1: the contributing source), which browsers expose
// per receiver (RTCRtpReceiver.getContributingSources).
//
// A speaker keeps its slot while it sends; a slot is given to a new
// speaker when it is free or its owner has sent nothing for slotHold.
// When all K slots hold recent speakers, a new speaker's frames are
// dropped (counted no_slot): K loudest-first is the browser's limit, as
// it is for any SFU that sends a fixed number of tracks.
type slotTable struct {
	hold  time.Duration
	slots []slotState
}

type slotState struct {
	member uint32 // 0: never used
	last   time.Time
	seqOff uint16 // out seq = uint16(in seq) + seqOff
	tsOff  uint32 // out ts = in ts + tsOff
	outSeq uint16 // the last written
	outTs  uint32
	used   bool
	csrc   [1]uint32
}

// slotHold is how long a silent speaker keeps its slot.
const slotHold = time.Second

func newSlotTable(k int, hold time.Duration) *slotTable {
	return &slotTable{hold: hold, slots: make([]slotState, k)}
}

// route picks the slot for a frame of member and fills h (sequence
// number, timestamp, marker and CSRC; SSRC and payload type are the
// track's). ok is false when every slot holds another recent speaker.
func (t *slotTable) route(now time.Time, member, seq, ts uint32, h *rtp.Header) (slot int, ok bool) {
	slot = -1
	oldest := -1
	for i := range t.slots {
		s := &t.slots[i]
		if s.used && s.member == member {
			slot = i
			break
		}
		if !s.used {
			if oldest < 0 || t.slots[oldest].used {
				oldest = i
			}
			continue
		}
		if now.Sub(s.last) >= t.hold && (oldest < 0 || (t.slots[oldest].used && s.last.Before(t.slots[oldest].last))) {
			oldest = i
		}
	}
	*h = rtp.Header{Version: 2}
	if slot < 0 {
		if oldest < 0 {
			return -1, false
		}
		slot = oldest
		s := &t.slots[slot]
		// A new talker on this slot: continue the slot's own numbering,
		// its clock advanced by the wall time since its last packet (at
		// least one frame), so the browser's jitter buffer sees one
		// stream with a pause, and mark the talkspurt's start.
		nextSeq, nextTs := uint16(0), uint32(0)
		if s.used {
			gap := uint32(max(now.Sub(s.last), 20*time.Millisecond) / (time.Second / 48000))
			nextSeq, nextTs = s.outSeq+1, s.outTs+gap
		}
		s.member, s.used = member, true
		s.seqOff = nextSeq - uint16(seq)
		s.tsOff = nextTs - ts
		h.Marker = true
	}
	s := &t.slots[slot]
	s.last = now
	s.outSeq = uint16(seq) + s.seqOff
	s.outTs = ts + s.tsOff
	s.csrc[0] = member
	h.SequenceNumber, h.Timestamp, h.CSRC = s.outSeq, s.outTs, s.csrc[:]
	return slot, true
}
