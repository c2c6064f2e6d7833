package tcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestRecordRoundTrip(t *testing.T) {
	var stream []byte
	stream = appendRecord(stream, recReliable, []byte("reliable"))
	stream = appendRecord(stream, recUnreliable, []byte{})
	stream = appendRecord(stream, recHeartbeat, nil)
	stream = appendRecord(stream, recUnreliable, bytes.Repeat([]byte{7}, 1000))
	stream = appendClose(stream, netcode.CodeRoomFull, "full")

	rr := recordReader{r: bytes.NewReader(stream), max: 1000}
	want := []struct {
		typ  byte
		body []byte
	}{
		{recReliable, []byte("reliable")},
		{recUnreliable, []byte{}},
		{recHeartbeat, []byte{}},
		{recUnreliable, bytes.Repeat([]byte{7}, 1000)},
	}
	for _, w := range want {
		typ, body, err := rr.next()
		require.NoError(t, err)
		assert.Equal(t, w.typ, typ)
		assert.Equal(t, w.body, body)
	}
	typ, body, err := rr.next()
	require.NoError(t, err)
	require.Equal(t, recClose, typ)
	code, reason, err := decodeClose(body)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeRoomFull, code)
	assert.Equal(t, "full", reason)
	_, _, err = rr.next()
	assert.ErrorIs(t, err, io.EOF)
	assert.LessOrEqual(t, cap(rr.buf), 1000)
}

func TestRecordLayout(t *testing.T) {
	assert.Equal(t, []byte{0, 0, 0, 4, 0, 'a', 'b', 'c'}, appendRecord(nil, recReliable, []byte("abc")))
	assert.Equal(t, []byte{0, 0, 0, 1, 2}, appendRecord(nil, recHeartbeat, nil))
	assert.Equal(t, []byte{0, 0, 0, 5, 3, 0, 101, 'o', 'k'}, appendClose(nil, netcode.CodeRoomFull, "ok"))
	assert.Equal(t, byte(netcode.Reliable), recReliable)
	assert.Equal(t, byte(netcode.Unreliable), recUnreliable)
}

// FuzzRecordReader feeds arbitrary streams to the record decoder: it must
// never panic, never grow its buffer past the limit, and every record it
// accepts must re-encode to bytes that decode to the same record.
func FuzzRecordReader(f *testing.F) {
	f.Add(appendRecord(nil, recReliable, []byte("hello")))
	f.Add(appendRecord(appendRecord(nil, recUnreliable, []byte{1, 2, 3}), recHeartbeat, nil))
	f.Add(appendClose(nil, netcode.CodeServerShutdown, "maintenance"))
	f.Add(appendRecord(nil, recReliable, bytes.Repeat([]byte{0xAB}, 300)))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0})
	f.Add([]byte{0, 0, 0, 1, 9})
	f.Add([]byte{0, 0, 0, 9, 0, 1})
	const limit = 512
	f.Fuzz(func(t *testing.T, stream []byte) {
		rr := recordReader{r: bytes.NewReader(stream), max: limit}
		for i := 0; i < len(stream)+1; i++ {
			typ, body, err := rr.next()
			if cap(rr.buf) > limit {
				t.Fatalf("buffer grew to %d", cap(rr.buf))
			}
			if err != nil {
				var ce *netcode.CodedError
				if !errors.Is(err, io.EOF) && !errors.As(err, &ce) {
					t.Fatalf("uncoded error %v", err)
				}
				return
			}
			var re []byte
			switch typ {
			case recClose:
				code, reason, err := decodeClose(body)
				if err != nil {
					t.Fatalf("reader accepted a close record decodeClose refuses: %v", err)
				}
				re = appendClose(nil, code, reason)
			default:
				re = appendRecord(nil, typ, body)
			}
			if binary.BigEndian.Uint32(re) != uint32(1+len(body)) {
				t.Fatalf("length mismatch")
			}
			rr2 := recordReader{r: bytes.NewReader(re), max: limit}
			typ2, body2, err := rr2.next()
			if err != nil || typ2 != typ || !bytes.Equal(body, body2) {
				t.Fatalf("round trip: %v %d/%d %x/%x", err, typ, typ2, body, body2)
			}
		}
	})
}
