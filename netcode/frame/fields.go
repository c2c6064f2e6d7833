package frame

import (
	"fmt"
	"io"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The helpers below are what every DecodeMsgpack in tickwire is built
// from; they are exported so that room types and services outside this
// package can write guarded decoders the same way.

// WriteHeader writes the array header and the kind of a frame with n
// fields after the kind.
func WriteHeader(enc *msgpack.Encoder, k Kind, n int) error {
	if err := enc.EncodeArrayLen(n + 1); err != nil {
		return err
	}
	return enc.EncodeUint(uint64(k)) // a positive fixint for kinds below 128
}

// ReadHeader reads a frame's array header and kind, checks the kind is k
// and that at least min fields follow, and returns how many fields follow
// the kind. Call SkipExtra with the count of fields you read.
func ReadHeader(dec *msgpack.Decoder, k Kind, min int) (int, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return 0, malformed("frame header: %v", err)
	}
	if n < 1 || n > MaxFields {
		return 0, malformed("frame has %d elements", n)
	}
	got, err := dec.DecodeUint8()
	if err != nil {
		return 0, malformed("frame kind: %v", err)
	}
	if Kind(got) != k {
		return 0, malformed("frame kind %d, want %d", got, k)
	}
	if n-1 < min {
		return 0, malformed("kind %d has %d fields, want at least %d", k, n-1, min)
	}
	return n - 1, nil
}

// SkipExtra skips the fields a newer peer appended: have is the count
// ReadHeader returned, read the count the decoder consumed. Like every
// reader here it checks each length against the bytes left before
// skipping: msgpack's own Skip allocates up to 1 MiB for a bin32 or str32
// header whatever the input holds.
func SkipExtra(dec *msgpack.Decoder, have, read int) error {
	for i := read; i < have; i++ {
		if err := skipValue(dec, 0); err != nil {
			return malformed("skipping field %d: %v", i, err)
		}
	}
	return nil
}

// maxSkipDepth bounds the nesting of skipped arrays and maps.
const maxSkipDepth = 32

// skipValue skips one msgpack value without allocating for it.
func skipValue(dec *msgpack.Decoder, depth int) error {
	if depth > maxSkipDepth {
		return fmt.Errorf("nested deeper than %d", maxSkipDepth)
	}
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	var n int // elements to skip (arrays, maps) or bytes to discard
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		if n, err = dec.DecodeArrayLen(); err != nil {
			return err
		}
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		if n, err = dec.DecodeMapLen(); err != nil {
			return err
		}
		n *= 2
	case msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32 ||
		c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32:
		if n, err = dec.DecodeBytesLen(); err != nil {
			return err
		}
		return discard(dec, n)
	case c == msgpcode.FixExt1 || c == msgpcode.FixExt2 || c == msgpcode.FixExt4 || c == msgpcode.FixExt8 ||
		c == msgpcode.FixExt16 || c == msgpcode.Ext8 || c == msgpcode.Ext16 || c == msgpcode.Ext32:
		if _, n, err = dec.DecodeExtHeader(); err != nil {
			return err
		}
		return discard(dec, n)
	default: // nil, booleans, numbers: a few bytes
		return dec.Skip()
	}
	// Every element takes at least one byte.
	if r := remaining(dec); n < 0 || (r >= 0 && n > r) {
		return fmt.Errorf("%d elements but %d bytes left", n, r)
	}
	for range n {
		if err := skipValue(dec, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// discard drops n bytes of a str, bin or ext body after checking, when
// the input is a byte slice, that they are there.
func discard(dec *msgpack.Decoder, n int) error {
	if n <= 0 {
		return nil
	}
	if r := remaining(dec); r >= 0 && n > r {
		return fmt.Errorf("length %d but %d bytes left", n, r)
	}
	if s, ok := dec.Buffered().(io.Seeker); ok {
		_, err := s.Seek(int64(n), io.SeekCurrent)
		return err
	}
	_, err := io.CopyN(io.Discard, dec.Buffered(), int64(n))
	return err
}

// ReadLen reads a str or bin length and checks it against max and the
// bytes that remain. A nil reads as length 0.
func ReadLen(dec *msgpack.Decoder, what string, max int) (int, error) {
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	if n < 0 {
		return 0, nil
	}
	if n > max {
		return 0, tooLarge(what, n, max)
	}
	if r := remaining(dec); r >= 0 && n > r {
		return 0, malformed("%s: length %d but %d bytes left", what, n, r)
	}
	return n, nil
}

// ReadString reads a string of at most max bytes.
func ReadString(dec *msgpack.Decoder, what string, max int) (string, error) {
	n, err := ReadLen(dec, what, max)
	if err != nil || n == 0 {
		return "", err
	}
	b := make([]byte, n)
	if err := dec.ReadFull(b); err != nil {
		return "", malformed("%s: %v", what, err)
	}
	// b is never written again, so the string may share it: one
	// allocation per string instead of two.
	return unsafe.String(&b[0], n), nil
}

// ReadBytes reads a bin (or str) of at most max bytes into dst[:0],
// growing dst only when it is too small, and returns the filled slice.
func ReadBytes(dec *msgpack.Decoder, what string, dst []byte, max int) ([]byte, error) {
	n, err := ReadLen(dec, what, max)
	if err != nil {
		return dst[:0], err
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if n > 0 {
		if err := dec.ReadFull(dst); err != nil {
			return dst[:0], malformed("%s: %v", what, err)
		}
	}
	return dst, nil
}

// ReadArrayLen reads an array header of at most max elements, each of
// which needs at least one byte.
func ReadArrayLen(dec *msgpack.Decoder, what string, max int) (int, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	if n < 0 {
		return 0, nil
	}
	if n > max {
		return 0, tooLarge(what, n, max)
	}
	if r := remaining(dec); r >= 0 && n > r {
		return 0, malformed("%s: %d elements but %d bytes left", what, n, r)
	}
	return n, nil
}

// ReadUint reads an unsigned integer field (any msgpack int encoding).
func ReadUint(dec *msgpack.Decoder, what string) (uint64, error) {
	v, err := dec.DecodeUint64()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	return v, nil
}

// ReadInt reads a signed integer field.
func ReadInt(dec *msgpack.Decoder, what string) (int64, error) {
	v, err := dec.DecodeInt64()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	return v, nil
}

// ReadBool reads a boolean field.
func ReadBool(dec *msgpack.Decoder, what string) (bool, error) {
	v, err := dec.DecodeBool()
	if err != nil {
		return false, malformed("%s: %v", what, err)
	}
	return v, nil
}
