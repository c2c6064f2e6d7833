package frame

import (
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Every frame of a service kind (16 and up) has the request ref as its
// first field after the kind: a request carries a client-chosen non-zero
// ref, the server's reply (or Error) carries the same ref, and frames the
// server pushes unasked carry 0. A client matches replies to requests with
// PeekRef alone, whatever the kind.

// KindOK is the reply to a request that succeeded and returns nothing
// else: [8, ref].
const KindOK Kind = 8

// FirstServiceKind is the lowest kind whose first field is a ref.
const FirstServiceKind Kind = 16

// Refer is implemented by request frames so that a client can stamp them
// with a fresh ref.
type Refer interface {
	Frame
	SetRef(ref uint32)
}

// OK acknowledges a request: [8, ref].
type OK struct {
	Ref uint32
}

func (*OK) Kind() Kind { return KindOK }

func (m *OK) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := W{Enc: enc}
	w.Begin(KindOK, 1)
	w.Uint(uint64(m.Ref))
	return w.Err()
}

func (m *OK) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := Begin(dec, KindOK, 1)
	m.Ref = uint32(f.Uint("ref", math.MaxUint32))
	return f.End()
}

// PeekRef returns the kind of an encoded frame and its ref: field 1 for
// service kinds, OK and Error frames (Error's ref is its third field), and
// 0 for every other kind.
func PeekRef(b []byte) (Kind, uint32, error) {
	k, err := Peek(b)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case k == KindError:
		var e Error
		if err := Unmarshal(b, &e); err != nil {
			return k, 0, err
		}
		return k, e.Ref, nil
	case k == KindOK || k >= FirstServiceKind:
		d := NewDecoder()
		d.r.Reset(b)
		d.dec.Reset(&d.r)
		if _, err := ReadHeader(d.dec, k, 1); err != nil {
			return k, 0, err
		}
		ref, err := ReadUint(d.dec, "ref")
		if err != nil || ref > math.MaxUint32 {
			return k, 0, malformed("ref is not a uint32")
		}
		return k, uint32(ref), nil
	}
	return k, 0, nil
}
