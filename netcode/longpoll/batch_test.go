package longpoll

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// The byte example in docs/PROTOCOL.md §2.5.
func TestBatchBytes(t *testing.T) {
	b := appendBatchHeader(nil, 5)
	b = appendRecord(b, 1, recReliable, []byte{0x92, 0x04, 0x01})
	b = appendRecord(b, 2, recClose, closeBody(netcode.CodeRoomFull, "ok"))
	want := []byte{
		0, 0, 0, 5, // ack 5
		0, 0, 0, 1, 0, 0, 0, 0, 3, 0x92, 0x04, 0x01, // seq 1, reliable, 3 bytes: [4, 1]
		0, 0, 0, 2, 3, 0, 0, 0, 4, 0, 101, 'o', 'k', // seq 2, close, code 101, "ok"
	}
	require.Equal(t, want, b)
	ack, recs, err := decodeBatch(b, batchLimits{maxFrames: 4, maxMessage: 16}, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(5), ack)
	require.Len(t, recs, 2)
	assert.Equal(t, record{seq: 1, typ: recReliable, body: []byte{0x92, 0x04, 0x01}}, recs[0])
	code, reason, err := decodeClose(recs[1].body)
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeRoomFull, code)
	assert.Equal(t, "ok", reason)
}

func TestDecodeBatchRefuses(t *testing.T) {
	lim := batchLimits{maxFrames: 2, maxMessage: 8}
	rec := func(seq uint32, typ recType, body string) []byte { return appendRecord(nil, seq, typ, []byte(body)) }
	cat := func(parts ...[]byte) []byte {
		b := appendBatchHeader(nil, 0)
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tests := map[string]struct {
		b    []byte
		code netcode.Code
	}{
		"short header":        {[]byte{0, 0, 1}, netcode.CodeBadFrame},
		"truncated header":    {cat([]byte{0, 0, 0, 1, 0, 0}), netcode.CodeBadFrame},
		"truncated body":      {cat(rec(1, recReliable, "abcd")[:recordHeaderSize+2]), netcode.CodeBadFrame},
		"body above limit":    {cat(rec(1, recReliable, "123456789")), netcode.CodeFrameTooLarge},
		"huge claimed length": {cat([]byte{0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff}), netcode.CodeFrameTooLarge},
		"too many records":    {cat(rec(1, 0, ""), rec(2, 0, ""), rec(3, 0, "")), netcode.CodeFrameTooLarge},
		"unknown type":        {cat(rec(1, 2, "")), netcode.CodeBadFrame},
		"sequence zero":       {cat(rec(0, 0, "")), netcode.CodeBadFrame},
		"not consecutive":     {cat(rec(1, 0, ""), rec(3, 0, "")), netcode.CodeBadFrame},
		"short close":         {cat(rec(1, recClose, "x")), netcode.CodeBadFrame},
		"long close":          {cat(rec(1, recClose, "xx"+strings.Repeat("r", maxReasonLen+1))), netcode.CodeBadFrame},
		"record after close":  {cat(rec(1, recClose, "\x00\x00"), rec(2, 0, "")), netcode.CodeBadFrame},
		"wraps to zero":       {cat(rec(0xffffffff, 0, ""), rec(0, 0, "")), netcode.CodeBadFrame},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := decodeBatch(tc.b, lim, nil)
			require.Error(t, err)
			assert.Equal(t, tc.code, netcode.CodeOf(err), "%v", err)
		})
	}
}

func TestCloseBodyCutsReason(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	code, reason, err := decodeClose(closeBody(netcode.CodeServerShutdown, long))
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeServerShutdown, code)
	assert.LessOrEqual(t, len(reason), maxReasonLen)
	assert.True(t, strings.HasPrefix(long, reason))
	assert.Equal(t, 0, len(reason)%2, "cut at a rune boundary")
}

// Decoding allocates nothing beyond the records slice it is given room in.
func TestDecodeBatchAllocs(t *testing.T) {
	b := appendBatchHeader(nil, 1)
	for i := uint32(1); i <= 8; i++ {
		b = appendRecord(b, i, recUnreliable, []byte("frame"))
	}
	dst := make([]record, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		_, recs, err := decodeBatch(b, batchLimits{maxFrames: 8, maxMessage: 64}, dst)
		if err != nil || len(recs) != 8 {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
