package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// Every entry of the transport table is complete: a name, what it
// crosses, an address in a full Target, and either a baseline link or a
// tickwire dial function whose session transport is a reliable tickwire
// transport of the table.
func TestTransportTableComplete(t *testing.T) {
	full := RemoteTarget("127.0.0.1", Ports{})
	seen := map[string]bool{}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			require.NotEmpty(t, tr.name)
			require.False(t, seen[tr.name], "listed once")
			seen[tr.name] = true
			assert.NotEmpty(t, tr.crosses, "the report says what the row crosses")
			assert.True(t, strings.HasPrefix(tr.crosses, "UDP") || strings.HasPrefix(tr.crosses, "TCP"), tr.crosses)
			require.NotNil(t, tr.addr)
			a, err := full.addrFor(tr.name)
			require.NoError(t, err)
			assert.NotEmpty(t, a)
			_, err = Target{}.addrFor(tr.name)
			require.ErrorIs(t, err, ErrNoAddress)
			if (tr.proxy == proxyStream) != strings.HasPrefix(tr.crosses, "TCP") {
				t.Errorf("proxy kind %d does not fit %q", tr.proxy, tr.crosses)
			}
			require.NotEqual(t, tr.dial == nil, tr.baseline == nil, "a baseline or a tickwire transport")
			if tr.dial == nil {
				return
			}
			s, err := lookup(tr.session)
			require.NoError(t, err, "session transport %q", tr.session)
			assert.Equal(t, s.session, s.name, "a session transport is its own")
			assert.Equal(t, netcode.Reliable, s.channel, "sessions (connect, chat) run over a reliable row")
			assert.Equal(t, s.crosses, tr.crosses, "an unreliable row crosses what its session transport does")
			o := dialOptions(&Env{Target: full}, tr.name, a, "tok", "x")
			assert.NotNil(t, o.Dial)
		})
	}
	assert.Equal(t, AllTransports, transportNames())
	_, err := ParseTransports(strings.Join(AllTransports, ","))
	require.NoError(t, err)
}

func TestSessionTransports(t *testing.T) {
	assert.Equal(t, []string{TransportKCP, TransportWebRTC, TransportWS},
		sessionTransports([]string{TransportUDPRaw, TransportKCPUnreliable, TransportKCP, TransportWebRTCUnreliable, TransportKCPBare, TransportWS, TransportWebRTC}))
	require.ErrorIs(t, tickwireOnly("room", []string{TransportWS, TransportKCPBare}), ErrConfig)
	require.NoError(t, tickwireOnly("room", []string{TransportWS, TransportWebRTCUnreliable, TransportLongPoll}))
	assert.Equal(t, netcode.Unreliable, channelOf(TransportWebRTCUnreliable))
	assert.Equal(t, netcode.Reliable, channelOf(TransportLongPoll))
}

// Loss asked for on stream transports: the report names every one of
// them, and only them.
func TestNoteStreamLoss(t *testing.T) {
	rep := &Report{}
	noteStreamLoss(rep, Impairment{LossPct: 5}, AllTransports)
	require.Len(t, rep.Notes, 1)
	for _, tr := range transports {
		if tr.proxy == proxyStream {
			assert.Contains(t, rep.Notes[0], tr.name)
		} else {
			assert.NotContains(t, rep.Notes[0], " "+tr.name+",")
		}
	}
	rep = &Report{}
	noteStreamLoss(rep, Impairment{Delay: 1}, AllTransports)
	noteStreamLoss(rep, Impairment{LossPct: 5}, []string{TransportKCP, TransportWebRTC})
	assert.Empty(t, rep.Notes, "no loss asked, or no stream transport")
}

// The WebRTC answer is rewritten so that ICE goes to the proxy: the
// candidate on the server's port gets the proxy's address, the others
// are dropped, and everything else is kept byte for byte.
func TestRewriteCandidates(t *testing.T) {
	sdp := strings.Join([]string{
		"v=0",
		"a=ice-ufrag:abc",
		"a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
		"a=candidate:2 1 udp 2130706431 10.0.0.5 40001 typ host",
		"a=candidate:3 1 tcp 1671430143 127.0.0.1 40000 typ host tcptype passive",
		"a=end-of-candidates",
		"",
	}, "\r\n")
	got, n, err := rewriteCandidates(sdp, "127.0.0.1:40000", "127.0.0.1:5555")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, strings.Join([]string{
		"v=0",
		"a=ice-ufrag:abc",
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5555 typ host",
		"a=end-of-candidates",
		"",
	}, "\r\n"), got)
	_, n, err = rewriteCandidates(sdp, "127.0.0.1:1", "127.0.0.1:5555")
	require.NoError(t, err)
	assert.Zero(t, n, "no candidate on the server's port")
	_, _, err = rewriteCandidates(sdp, "nope", "127.0.0.1:5555")
	require.Error(t, err)
}
