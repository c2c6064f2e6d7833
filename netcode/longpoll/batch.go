package longpoll

import (
	"encoding/binary"

	"github.com/tickwire/tickwire/netcode"
)

// Batch layout (docs/PROTOCOL.md §2.5 has it byte for byte). Every body of
// a send request, a send response and a recv response is one batch; all
// integers are big-endian:
//
//	batch  = ack uint32, record*
//	record = seq uint32, type uint8, length uint32, body (length bytes)
//
// ack is the sender's acknowledgement of the other direction: every frame
// with a sequence number ≤ ack has arrived. Records carry consecutive
// sequence numbers starting at 1 for each direction of a session.
const (
	batchHeaderSize  = 4
	recordHeaderSize = 4 + 1 + 4
)

// recType is a record's type byte. 0 and 1 are the netcode.Channel
// numbers, as in TCP records; 2 (TCP's heartbeat) is unused here.
type recType uint8

const (
	recReliable   recType = 0
	recUnreliable recType = 1
	recClose      recType = 3
)

func (t recType) String() string {
	switch t {
	case recReliable:
		return "reliable"
	case recUnreliable:
		return "unreliable"
	case recClose:
		return "close"
	}
	return "invalid"
}

// maxReasonLen bounds the reason of a close record (as on TCP).
const maxReasonLen = 123

// record is one decoded record; body aliases the decoded buffer.
type record struct {
	seq  uint32
	typ  recType
	body []byte
}

// batchLimits bound what decodeBatch accepts.
type batchLimits struct {
	maxFrames  int // records per batch
	maxMessage int // body bytes of one data record
}

// appendBatchHeader starts a batch.
func appendBatchHeader(dst []byte, ack uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, ack)
}

// appendRecord appends one record.
func appendRecord(dst []byte, seq uint32, typ recType, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, byte(typ))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// closeBody encodes a close record's body: code uint16, then the reason
// cut to maxReasonLen bytes at a UTF-8 boundary.
func closeBody(code netcode.Code, reason string) []byte {
	reason = netcode.TruncateUTF8(reason, maxReasonLen)
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return append(b, reason...)
}

// decodeClose reads a close record's body.
func decodeClose(b []byte) (netcode.Code, string, error) {
	if len(b) < 2 || len(b) > 2+maxReasonLen {
		return 0, "", netcode.Errorf(netcode.CodeBadFrame, "longpoll: close record body of %d bytes", len(b))
	}
	return netcode.Code(binary.BigEndian.Uint16(b)), string(b[2:]), nil
}

// decodeBatch parses b into dst[:0]. Bodies alias b. It checks every
// length against the bytes left and the limits before slicing, and that
// sequence numbers are consecutive and non-zero; it allocates nothing
// beyond growing dst (at most lim.maxFrames records). Errors are
// *netcode.CodedError: frame_too_large for a body or record count above
// the limits, bad_frame for anything else.
func decodeBatch(b []byte, lim batchLimits, dst []record) (ack uint32, recs []record, err error) {
	recs = dst[:0]
	if len(b) < batchHeaderSize {
		return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: batch of %d bytes, shorter than its header", len(b))
	}
	ack = binary.BigEndian.Uint32(b)
	b = b[batchHeaderSize:]
	closed := false
	for len(b) > 0 {
		if len(recs) == lim.maxFrames {
			return 0, recs, netcode.Errorf(netcode.CodeFrameTooLarge, "longpoll: more than %d records in a batch", lim.maxFrames)
		}
		if len(b) < recordHeaderSize {
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: truncated record header")
		}
		r := record{seq: binary.BigEndian.Uint32(b), typ: recType(b[4])}
		n := binary.BigEndian.Uint32(b[5:])
		b = b[recordHeaderSize:]
		switch r.typ {
		case recReliable, recUnreliable:
			if n > uint32(lim.maxMessage) {
				return 0, recs, netcode.Errorf(netcode.CodeFrameTooLarge, "longpoll: record of %d bytes, limit %d", n, lim.maxMessage)
			}
		case recClose:
			if n < 2 || n > 2+maxReasonLen {
				return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: close record body of %d bytes", n)
			}
		default:
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: unknown record type %d", uint8(r.typ))
		}
		if uint64(n) > uint64(len(b)) {
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: record of %d bytes, %d left", n, len(b))
		}
		if closed {
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: record after a close record")
		}
		if r.seq == 0 {
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: sequence number 0")
		}
		if len(recs) > 0 && r.seq != recs[len(recs)-1].seq+1 {
			return 0, recs, netcode.Errorf(netcode.CodeBadFrame, "longpoll: sequence %d after %d", r.seq, recs[len(recs)-1].seq)
		}
		r.body = b[:n:n]
		b = b[n:]
		closed = r.typ == recClose
		recs = append(recs, r)
	}
	return ack, recs, nil
}
