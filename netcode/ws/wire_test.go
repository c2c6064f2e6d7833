package ws

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestCloseCodesMapBothWays(t *testing.T) {
	for _, code := range netcode.Codes() {
		s := statusOf(code)
		assert.True(t, s == websocket.StatusNormalClosure || (s >= 4000 && s <= 4999), "%v -> %d", code, s)
		assert.Equal(t, code, closeCode(s), "%v round trip through status %d", code, s)
	}
	for name, tc := range map[string]struct {
		s    websocket.StatusCode
		want netcode.Code
	}{
		"normal":       {websocket.StatusNormalClosure, netcode.CodeOK},
		"going away":   {websocket.StatusGoingAway, netcode.CodeOK},
		"no status":    {websocket.StatusNoStatusRcvd, netcode.CodeOK},
		"too big":      {websocket.StatusMessageTooBig, netcode.CodeFrameTooLarge},
		"protocol":     {websocket.StatusProtocolError, netcode.CodeBadFrame},
		"policy":       {websocket.StatusPolicyViolation, netcode.CodeForbidden},
		"restart":      {websocket.StatusServiceRestart, netcode.CodeServerShutdown},
		"try later":    {websocket.StatusTryAgainLater, netcode.CodeServerBusy},
		"unknown 3000": {3000, netcode.CodeInternal},
	} {
		assert.Equal(t, tc.want, closeCode(tc.s), name)
	}
	assert.Equal(t, websocket.StatusCode(4009), statusOf(netcode.Code(5000)), "an unnamed code stays in range")
}

func TestReadMessage(t *testing.T) {
	for name, tc := range map[string]struct {
		in    []byte
		limit int
		want  error
	}{
		"empty":           {nil, 10, nil},
		"under the limit": {bytes.Repeat([]byte{7}, 9), 10, nil},
		"at the limit":    {bytes.Repeat([]byte{7}, 10), 10, nil},
		"one over":        {bytes.Repeat([]byte{7}, 11), 10, errTooLarge},
		"far over":        {bytes.Repeat([]byte{7}, 5000), 10, errTooLarge},
		"large at limit":  {bytes.Repeat([]byte{7}, 70000), 70000, nil},
	} {
		t.Run(name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(tc.in), iotest.OneByteReader(bytes.NewReader(tc.in)), iotest.DataErrReader(bytes.NewReader(tc.in))} {
				var buf []byte
				got, err := readMessage(r, &buf, tc.limit)
				if tc.want != nil {
					require.ErrorIs(t, err, tc.want)
					assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(err))
					assert.LessOrEqual(t, cap(buf), tc.limit, "never grows past the limit")
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, len(tc.in), len(got))
				assert.True(t, bytes.Equal(tc.in, got))
				assert.LessOrEqual(t, cap(buf), tc.limit)
			}
		})
	}
	t.Run("reuses its buffer", func(t *testing.T) {
		buf := make([]byte, 0, 64)
		got, err := readMessage(bytes.NewReader([]byte("abc")), &buf, 100)
		require.NoError(t, err)
		assert.Equal(t, &buf[:1][0], &got[0])
	})
	t.Run("a bigger buffer is cut to the limit", func(t *testing.T) {
		buf := make([]byte, 0, 64)
		_, err := readMessage(bytes.NewReader(make([]byte, 20)), &buf, 10)
		require.ErrorIs(t, err, errTooLarge)
	})
	t.Run("read errors pass through", func(t *testing.T) {
		boom := errors.New("boom")
		var buf []byte
		_, err := readMessage(iotest.ErrReader(boom), &buf, 10)
		require.ErrorIs(t, err, boom)
	})
}

func TestSplitMark(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		mark byte
		body []byte
		bad  bool
	}{
		"reliable":            {[]byte{0, 'a', 'b'}, markReliable, []byte("ab"), false},
		"unreliable":          {[]byte{1, 'x'}, markUnreliable, []byte("x"), false},
		"empty reliable":      {[]byte{0}, markReliable, []byte{}, false},
		"heartbeat":           {[]byte{2}, markHeartbeat, []byte{}, false},
		"empty message":       {[]byte{}, 0, nil, true},
		"heartbeat with body": {[]byte{2, 0}, 0, nil, true},
		"unknown mark":        {[]byte{3, 'a'}, 0, nil, true},
		"high mark":           {[]byte{0xff}, 0, nil, true},
	} {
		t.Run(name, func(t *testing.T) {
			mark, body, err := splitMark(tc.in)
			if tc.bad {
				require.Error(t, err)
				assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.mark, mark)
			assert.Equal(t, tc.body, body)
			assert.Equal(t, tc.in, appendMessage(nil, mark, body), "encode(decode(x)) == x")
		})
	}
}

// FuzzReadMessage feeds arbitrary message bodies, in arbitrary chunks,
// through the reader and the mark check: nothing panics, the buffer never
// grows past the limit, and what decodes encodes back to the same bytes.
func FuzzReadMessage(f *testing.F) {
	f.Add([]byte{0, 0x92, 0x04, 0xcf, 0, 6, 0x0a, 0x24, 0x18, 0x1e, 0x40, 0}, uint16(64), uint8(0)) // a reliable Ping frame
	f.Add([]byte{1, 0x93, 0x10, 0x01, 0xc4, 0x01, 0x78}, uint16(64), uint8(3))                      // unreliable
	f.Add([]byte{2}, uint16(1), uint8(1))                                                           // heartbeat
	f.Add([]byte{2, 2}, uint16(4), uint8(1))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Add(bytes.Repeat([]byte{0}, 300), uint16(200), uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, limit16 uint16, chunk uint8) {
		limit := MarkSize + int(limit16)
		var r io.Reader = bytes.NewReader(in)
		if chunk > 0 {
			r = &chunkReader{r: r, n: int(chunk)}
		}
		var buf []byte
		msg, err := readMessage(r, &buf, limit)
		if cap(buf) > limit {
			t.Fatalf("buffer grew to %d past the limit %d", cap(buf), limit)
		}
		if len(in) > limit {
			if !errors.Is(err, errTooLarge) {
				t.Fatalf("%d bytes over a limit of %d read without error", len(in), limit)
			}
			return
		}
		if err != nil {
			t.Fatalf("read %d bytes under the limit %d: %v", len(in), limit, err)
		}
		if !bytes.Equal(msg, in) {
			t.Fatal("bytes changed")
		}
		mark, body, err := splitMark(msg)
		if err != nil {
			if netcode.CodeOf(err) != netcode.CodeBadFrame {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if !bytes.Equal(appendMessage(nil, mark, body), msg) {
			t.Fatal("round trip changed the message")
		}
	})
}

// chunkReader returns at most n bytes per Read, as a network would.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}
