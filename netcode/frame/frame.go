package frame

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/tickwire/tickwire/netcode"
)

// Kind identifies a frame type. Ranges: 1–15 session, 16–63 rooms,
// 64–127 social. Kinds are wire ABI: never renumber, only append.
type Kind uint8

// Frame is implemented by every frame type.
type Frame interface {
	Kind() Kind
	msgpack.CustomEncoder
	msgpack.CustomDecoder
}

// Field size limits shared by many frames.
const (
	MaxNameLen    = 64   // display names, client names, room types and labels
	MaxIDLen      = 128  // string ids (room ids, resume ids)
	MaxTokenLen   = 4096 // bearer tokens
	MaxMessageLen = 1024 // human-readable error and close messages
	MaxFields     = 64   // fields per frame, including the kind
)

// Errors returned by decoding. Both are *netcode.CodedError values, so
// netcode.CodeOf tells the code to answer with.
var (
	ErrMalformed = &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: "malformed frame"}
	ErrTooLarge  = &netcode.CodedError{Code: netcode.CodeFrameTooLarge, Msg: "field too large"}
)

func malformed(format string, args ...any) error {
	return &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

func tooLarge(what string, n, max int) error {
	return &netcode.CodedError{Code: netcode.CodeFrameTooLarge, Msg: fmt.Sprintf("%s: %d bytes, limit %d", what, n, max), Err: ErrTooLarge}
}

// Peek returns the kind of an encoded frame without decoding it.
func Peek(b []byte) (Kind, error) {
	if len(b) < 2 {
		return 0, malformed("frame shorter than 2 bytes")
	}
	i := 0
	switch c := b[0]; {
	case msgpcode.IsFixedArray(c):
		if c&msgpcode.FixedArrayMask == 0 {
			return 0, malformed("empty frame array")
		}
		i = 1
	case c == msgpcode.Array16:
		i = 3
	case c == msgpcode.Array32:
		i = 5
	default:
		return 0, malformed("frame is not a msgpack array (first byte 0x%02x)", c)
	}
	if len(b) <= i {
		return 0, malformed("truncated frame header")
	}
	switch c := b[i]; {
	case msgpcode.IsFixedNum(c) && c < 0x80:
		return Kind(c), nil
	case c == msgpcode.Uint8 && len(b) > i+1:
		return Kind(b[i+1]), nil
	}
	return 0, malformed("frame kind is not a small unsigned integer")
}

// Encoder encodes frames into a reused buffer; encoding allocates nothing
// in steady state.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	return e
}

// Encode encodes f. The bytes stay valid until the next call; copy them
// (or use Marshal) to keep them.
func (e *Encoder) Encode(f Frame) ([]byte, error) {
	e.buf.Reset()
	if err := f.EncodeMsgpack(e.enc); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// Marshal encodes f into freshly allocated bytes that the caller owns, for
// a frame that is queued to many recipients at once.
func Marshal(f Frame) ([]byte, error) {
	e := NewEncoder()
	b, err := e.Encode(f)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// Decoder decodes frames from byte slices, checking every length.
type Decoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}

// Decode decodes b into f. Errors are *netcode.CodedError values with
// CodeBadFrame or CodeFrameTooLarge. Byte fields of f may alias b.
func (d *Decoder) Decode(b []byte, f Frame) error {
	d.r.Reset(b)
	d.dec.Reset(&d.r)
	if err := f.DecodeMsgpack(d.dec); err != nil {
		return asCoded(err)
	}
	if d.r.Len() != 0 {
		return malformed("%d trailing bytes after frame", d.r.Len())
	}
	return nil
}

// Unmarshal decodes b into f with a temporary Decoder.
func Unmarshal(b []byte, f Frame) error { return NewDecoder().Decode(b, f) }

func asCoded(err error) error {
	var ce *netcode.CodedError
	if errors.As(err, &ce) {
		return err
	}
	return &netcode.CodedError{Code: netcode.CodeBadFrame, Msg: err.Error(), Err: err}
}

// remaining is how many undecoded bytes the decoder has, or -1 if unknown.
func remaining(dec *msgpack.Decoder) int {
	if r, ok := dec.Buffered().(interface{ Len() int }); ok {
		return r.Len()
	}
	return -1
}
