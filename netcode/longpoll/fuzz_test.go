package longpoll

import (
	"bytes"
	"testing"

	"github.com/tickwire/tickwire/netcode"
)

// FuzzDecodeBatch: no input panics or yields a record above the limits,
// and every batch that decodes encodes back to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	b := appendBatchHeader(nil, 5)
	b = appendRecord(b, 1, recReliable, []byte{0x92, 0x04, 0x01})
	b = appendRecord(b, 2, recUnreliable, []byte("state"))
	f.Add(b)
	f.Add(appendRecord(appendBatchHeader(nil, 0), 7, recClose, closeBody(netcode.CodeIdleTimeout, "idle timeout")))
	f.Add(appendBatchHeader(nil, 0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff})
	// A real send batch of the Go client: Hello as the first frame.
	o := newOutbox(16, 1<<16)
	_ = o.push(recReliable, []byte{0x94, 0x01, 0x01, 0xa3, 't', 'o', 'k', 0xc0})
	hello, _, _ := o.batch(0, 0, 16, 1<<16)
	f.Add(hello)
	lim := batchLimits{maxFrames: 16, maxMessage: 256}
	f.Fuzz(func(t *testing.T, in []byte) {
		ack, recs, err := decodeBatch(in, lim, nil)
		if err != nil {
			if c := netcode.CodeOf(err); c != netcode.CodeBadFrame && c != netcode.CodeFrameTooLarge {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if len(recs) > lim.maxFrames {
			t.Fatalf("%d records", len(recs))
		}
		out := appendBatchHeader(nil, ack)
		for _, r := range recs {
			if r.typ != recClose && len(r.body) > lim.maxMessage {
				t.Fatalf("body of %d bytes", len(r.body))
			}
			out = appendRecord(out, r.seq, r.typ, r.body)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip differs:\n%x\n%x", in, out)
		}
		var in2 inbox
		in2.next = 1
		_, _ = in2.fresh(recs) // never panics on any decoded batch
	})
}

// FuzzDecodeClose: a close body decodes or is refused with bad_frame.
func FuzzDecodeClose(f *testing.F) {
	f.Add(closeBody(netcode.CodeRoomFull, "ok"))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, in []byte) {
		code, reason, err := decodeClose(in)
		if err != nil {
			return
		}
		if !bytes.Equal(closeBody(code, reason), in) {
			t.Fatalf("round trip differs")
		}
	})
}
