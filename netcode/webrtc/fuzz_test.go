package webrtc

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// FuzzDecodeClose: no panic; anything accepted is within the limits and
// survives encode → decode unchanged.
func FuzzDecodeClose(f *testing.F) {
	f.Add(encodeClose(netcode.CodeServerShutdown, "maintenance"))
	f.Add(encodeClose(netcode.CodeOK, ""))
	f.Add([]byte(`{"type":"close","code":65536,"reason":""}`))
	f.Add([]byte(`{"type":"close","code":-1}`))
	f.Add([]byte(`{"type":"close","reason":"no code"}`))
	f.Add([]byte(`{"type":"ping"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		code, reason, err := decodeClose(b)
		if err != nil {
			require.ErrorIs(t, err, errMalformedControl)
			return
		}
		require.LessOrEqual(t, len(b), maxControlSize)
		require.LessOrEqual(t, len(reason), MaxCloseReason)
		require.True(t, utf8.ValidString(reason))
		code2, reason2, err := decodeClose(encodeClose(code, reason))
		require.NoError(t, err)
		require.Equal(t, code, code2)
		require.Equal(t, reason, reason2)
	})
}

func TestEncodeCloseCutsReason(t *testing.T) {
	long := ""
	for len(long) < 2*MaxCloseReason {
		long += "é"
	}
	code, reason, err := decodeClose(encodeClose(netcode.CodeRoomFull, long))
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeRoomFull, code)
	assert.LessOrEqual(t, len(reason), MaxCloseReason)
	assert.True(t, utf8.ValidString(reason))
	_, _, err = decodeClose(append([]byte(`{"type":"close","code":1,"reason":"`), append([]byte(long), `"}`...)...))
	assert.ErrorIs(t, err, errMalformedControl, "a reason above the limit is refused")
}

// FuzzDecodeUnreliable: no panic; a decoded message re-encodes to the
// same bytes.
func FuzzDecodeUnreliable(f *testing.F) {
	f.Add(appendUnreliable(nil, 7, []byte("input")))
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, msg, ok := decodeUnreliable(b)
		if !ok {
			require.Less(t, len(b), unreliableHeader)
			return
		}
		require.Equal(t, b, appendUnreliable(nil, seq, msg))
	})
}

// FuzzValidateOffer: the pre-PeerConnection check never panics and
// refuses with bad_request.
func FuzzValidateOffer(f *testing.F) {
	f.Add([]byte(sampleOffer))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > DefaultMaxOfferBytes {
			return // the handler never reads more
		}
		if err := validateOffer(b); err != nil {
			require.Equal(t, netcode.CodeBadRequest, netcode.CodeOf(err))
		}
	})
}

func TestValidateOfferSample(t *testing.T) {
	require.NoError(t, validateOffer([]byte(sampleOffer)))
}

// sampleOffer is an offer as the Go client sends it.
const sampleOffer = "v=0\r\n" +
	"o=- 5575618010155946536 1718000000 IN IP4 0.0.0.0\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=msid-semantic:WMS*\r\n" +
	"a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n" +
	"a=ice-lite\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sendrecv\r\n" +
	"a=sctp-port:5000\r\n" +
	"a=max-message-size:65540\r\n" +
	"a=ice-ufrag:abcdEFGHijklMNOP\r\n" +
	"a=ice-pwd:abcdEFGHijklMNOPqrstUVWXyz012345\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n" +
	"a=end-of-candidates\r\n"
