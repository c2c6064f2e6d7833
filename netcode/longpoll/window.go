package longpoll

import (
	"errors"
	"fmt"
	"math"

	"github.com/tickwire/tickwire/netcode"
)

// The sequence/ack bookkeeping of one direction of a session, on either
// end: an outbox on the sending side, an inbox on the receiving side. Both
// are sans-IO values owned by their caller's lock; they never block, read
// the clock or touch the network.

var (
	// errAckAhead: the peer acknowledged a sequence number never sent.
	errAckAhead = errors.New("longpoll: ack of a frame never sent")
	// errGap: a batch starts after the next expected sequence number.
	errGap = errors.New("longpoll: sequence gap")
	// errSeqExhausted: the direction has used every sequence number.
	errSeqExhausted = errors.New("longpoll: sequence numbers exhausted")
)

// outRecord is a record waiting in an outbox.
type outRecord struct {
	typ  recType
	body []byte
}

// outbox holds the frames one end sends: recs[:sent] were sent at least
// once and carry the sequence numbers acked+1 .. acked+sent; recs[sent:]
// are queued and get their numbers when first put into a batch, so that
// an unreliable frame dropped before it was sent leaves no gap. Every
// frame stays until the peer acknowledges it.
type outbox struct {
	recs  []outRecord
	sent  int    // recs[:sent] are numbered
	acked uint32 // every frame up to acked is acknowledged
	bytes int    // body bytes in recs

	maxFrames, maxBytes int // the window; a close record may exceed it
}

func newOutbox(maxFrames, maxBytes int) outbox {
	return outbox{maxFrames: maxFrames, maxBytes: maxBytes}
}

// lastSent is the highest sequence number sent so far.
func (o *outbox) lastSent() uint32 { return o.acked + uint32(o.sent) }

// len is the number of frames held (sent and queued).
func (o *outbox) len() int { return len(o.recs) }

// fits reports whether a body of n bytes fits in the window now.
func (o *outbox) fits(n int) bool {
	return len(o.recs) < o.maxFrames && o.bytes+n <= o.maxBytes
}

// push appends a record; the caller has checked fits (a close record is
// pushed regardless). It fails only when the direction has no sequence
// numbers left for it.
func (o *outbox) push(typ recType, body []byte) error {
	if uint64(o.acked)+uint64(len(o.recs))+1 >= math.MaxUint32 {
		return errSeqExhausted
	}
	o.recs = append(o.recs, outRecord{typ: typ, body: body})
	o.bytes += len(body)
	return nil
}

// dropOldestQueuedUnreliable removes the oldest unreliable frame that was
// never sent and reports whether there was one.
func (o *outbox) dropOldestQueuedUnreliable() bool {
	for i := o.sent; i < len(o.recs); i++ {
		if o.recs[i].typ == recUnreliable {
			o.bytes -= len(o.recs[i].body)
			o.recs = append(o.recs[:i], o.recs[i+1:]...)
			return true
		}
	}
	return false
}

// ack records that the peer has every frame up to n. An ack below the
// current one is stale (a reordered or replayed request) and ignored; an
// ack above lastSent is errAckAhead. It reports how many frames it freed.
func (o *outbox) ack(n uint32) (int, error) {
	if n <= o.acked {
		return 0, nil
	}
	if n > o.lastSent() {
		return 0, errAckAhead
	}
	k := int(n - o.acked)
	for _, r := range o.recs[:k] {
		o.bytes -= len(r.body)
	}
	clear(o.recs[:k]) // let the bodies go
	o.recs = append(o.recs[:0], o.recs[k:]...)
	o.sent -= k
	o.acked = n
	return k, nil
}

// hasAfter reports whether a batch for a peer that has every frame up to
// from would carry a record: a sent frame above from, or a queued one.
func (o *outbox) hasAfter(from uint32) bool {
	return o.lastSent() > max(from, o.acked) || len(o.recs) > o.sent
}

// batch builds a batch: the header with ourAck, then every
// frame above max(from, acked) — sent ones again, then queued ones, which
// are numbered now — while the batch stays within maxFrames records and
// maxBytes bytes (one record always goes in, so a frame at the message
// limit is never stuck). It returns the batch and how many records it
// holds, and whether the last one is a close record.
func (o *outbox) batch(ourAck, from uint32, maxFrames, maxBytes int) (out []byte, n int, closing bool) {
	dst := appendBatchHeader(make([]byte, 0, 256), ourAck)
	i := 0
	if from > o.acked {
		i = int(min(from, o.lastSent()) - o.acked)
	}
	for ; i < len(o.recs) && n < maxFrames; i++ {
		r := o.recs[i]
		if n > 0 && len(dst)+recordHeaderSize+len(r.body) > maxBytes {
			break
		}
		dst = appendRecord(dst, o.acked+uint32(i)+1, r.typ, r.body)
		n++
		if i >= o.sent {
			o.sent = i + 1
		}
		closing = r.typ == recClose
	}
	return dst, n, closing
}

// inbox tracks the frames one end receives: next is the sequence number
// it expects.
type inbox struct {
	next uint32
}

func newInbox() inbox { return inbox{next: 1} }

// ack is what this end acknowledges: every frame below next.
func (in *inbox) ack() uint32 { return in.next - 1 }

// fresh checks recs (consecutive, as decodeBatch guarantees) against the
// next expected sequence number and returns the new ones: records below
// next were applied before (a repeated request after a lost response) and
// are skipped. A batch that starts above next is errGap, with a
// bad_request code; nothing is taken from it.
func (in *inbox) fresh(recs []record) ([]record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	first := recs[0].seq
	if first > in.next {
		return nil, &netcode.CodedError{Code: netcode.CodeBadRequest, Err: errGap,
			Msg: fmt.Sprintf("longpoll: batch starts at sequence %d, expected at most %d", first, in.next)}
	}
	if recs[len(recs)-1].seq == math.MaxUint32 {
		return nil, &netcode.CodedError{Code: netcode.CodeBadRequest, Err: errSeqExhausted, Msg: "longpoll: sequence 4294967295 is never used"}
	}
	skip := uint64(in.next) - uint64(first)
	if skip >= uint64(len(recs)) {
		return nil, nil
	}
	return recs[skip:], nil
}

// advance marks n more records as applied.
func (in *inbox) advance(n int) { in.next += uint32(n) }
