package frame

import (
	"github.com/vmihailenco/msgpack/v5"
)

// Fields reads one frame's fields in order and keeps the first error. A
// field past the end of a shorter (older) frame reads as its zero value;
// Begin's min says how many fields must be present.
//
//	f := frame.Begin(dec, KindPing, 1)
//	p.ClientTime = f.Int("client_time")
//	return f.End()
type Fields struct {
	dec  *msgpack.Decoder
	have int
	read int
	err  error
}

// Begin reads the frame header for kind k.
func Begin(dec *msgpack.Decoder, k Kind, min int) Fields {
	n, err := ReadHeader(dec, k, min)
	return Fields{dec: dec, have: n, err: err}
}

func (f *Fields) next() bool {
	if f.err != nil || f.read >= f.have {
		return false
	}
	f.read++
	return true
}

// Present reports whether the next field exists in this frame.
func (f *Fields) Present() bool { return f.err == nil && f.read < f.have }

// Err is the first error so far.
func (f *Fields) Err() error { return f.err }

// Fail records err (if it is the first) so that End returns it.
func (f *Fields) Fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// Uint reads an unsigned integer no larger than max.
func (f *Fields) Uint(what string, max uint64) uint64 {
	if !f.next() {
		return 0
	}
	v, err := ReadUint(f.dec, what)
	if err == nil && v > max {
		err = malformed("%s: %d out of range (max %d)", what, v, max)
	}
	f.Fail(err)
	return v
}

// Int reads a signed integer.
func (f *Fields) Int(what string) int64 {
	if !f.next() {
		return 0
	}
	v, err := ReadInt(f.dec, what)
	f.Fail(err)
	return v
}

// Float64 reads a float (or any integer) as float64.
func (f *Fields) Float64(what string) float64 {
	if !f.next() {
		return 0
	}
	v, err := f.dec.DecodeFloat64()
	if err != nil {
		f.Fail(malformed("%s: %v", what, err))
	}
	return v
}

// Bool reads a boolean.
func (f *Fields) Bool(what string) bool {
	if !f.next() {
		return false
	}
	v, err := ReadBool(f.dec, what)
	f.Fail(err)
	return v
}

// String reads a string of at most max bytes.
func (f *Fields) String(what string, max int) string {
	if !f.next() {
		return ""
	}
	v, err := ReadString(f.dec, what, max)
	f.Fail(err)
	return v
}

// Bytes reads a byte string of at most max bytes into dst (reused).
func (f *Fields) Bytes(what string, dst []byte, max int) []byte {
	if !f.next() {
		return dst[:0]
	}
	v, err := ReadBytes(f.dec, what, dst, max)
	f.Fail(err)
	return v
}

// ArrayLen reads an array header of at most max elements; the caller then
// reads the elements through Decoder.
func (f *Fields) ArrayLen(what string, max int) int {
	if !f.next() {
		return 0
	}
	v, err := ReadArrayLen(f.dec, what, max)
	f.Fail(err)
	return v
}

// Decoder gives direct access for nested values; use the Read* helpers.
func (f *Fields) Decoder() *msgpack.Decoder { return f.dec }

// End skips unknown trailing fields and returns the first error.
func (f *Fields) End() error {
	if f.err != nil {
		return f.err
	}
	return SkipExtra(f.dec, f.have, f.read)
}

// W writes fields and keeps the first error. It is a value on the stack:
// using it allocates nothing.
type W struct {
	Enc *msgpack.Encoder
	err error
}

// Begin writes the header of a frame of kind k with n fields after it.
func (w *W) Begin(k Kind, n int) {
	if w.err == nil {
		w.err = WriteHeader(w.Enc, k, n)
	}
}

// Uint writes an unsigned integer in its smallest form.
func (w *W) Uint(v uint64) {
	if w.err == nil {
		w.err = w.Enc.EncodeUint(v)
	}
}

// Int writes a signed integer in its smallest form.
func (w *W) Int(v int64) {
	if w.err == nil {
		w.err = w.Enc.EncodeInt(v)
	}
}

// Float64 writes a float64.
func (w *W) Float64(v float64) {
	if w.err == nil {
		w.err = w.Enc.EncodeFloat64(v)
	}
}

// Bool writes a boolean.
func (w *W) Bool(v bool) {
	if w.err == nil {
		w.err = w.Enc.EncodeBool(v)
	}
}

// String writes a string.
func (w *W) String(v string) {
	if w.err == nil {
		w.err = w.Enc.EncodeString(v)
	}
}

// Bytes writes a bin.
func (w *W) Bytes(v []byte) {
	if w.err == nil {
		w.err = w.Enc.EncodeBytes(v)
	}
}

// ArrayLen writes an array header.
func (w *W) ArrayLen(n int) {
	if w.err == nil {
		w.err = w.Enc.EncodeArrayLen(n)
	}
}

// Err is the first error.
func (w *W) Err() error { return w.err }
