package e2e

import (
	"encoding/binary"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/webrtc"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// sfuPeer is a browser's audio link played by pion in Go: one sendrecv
// Opus track up, k-1 recvonly, every received RTP packet handed to onRTP.
type sfuPeer struct {
	pc    *pion.PeerConnection
	track *pion.TrackLocalStaticRTP
}

func dialSFU(t testing.TB, srv *server.Server, token string, session, roomID uint64, k int, onRTP func(*rtp.Packet)) *sfuPeer {
	t.Helper()
	opus := pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	me := &pion.MediaEngine{}
	require.NoError(t, me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: opus, PayloadType: 111}, pion.RTPCodecTypeAudio))
	var se pion.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	api := pion.NewAPI(pion.WithMediaEngine(me), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	track, err := pion.NewTrackLocalStaticRTP(opus, "mic", "go")
	require.NoError(t, err)
	_, err = pc.AddTransceiverFromTrack(track, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendrecv})
	require.NoError(t, err)
	for range k - 1 {
		_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeAudio, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly})
		require.NoError(t, err)
	}
	var readers sync.WaitGroup
	t.Cleanup(func() { // one cleanup: the readers end once pc is closed, whatever order others run in
		_ = pc.Close()
		readers.Wait()
	})
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		readers.Add(1)
		defer readers.Done()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			onRTP(p)
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		if s == pion.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := pion.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	<-gathered
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost,
		srv.HTTPURL()+server.VoicePath+"?session="+u64(session)+"&room="+u64(roomID), strings.NewReader(pc.LocalDescription().SDP))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode, string(body))
	require.NoError(t, pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: string(body)}))
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the audio link did not connect")
	}
	return &sfuPeer{pc: pc, track: track}
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// stampPayload is a 20 ms CELT Opus TOC byte then the send time.
func stampPayload(now time.Time) []byte {
	p := make([]byte, 9)
	p[0] = 0xf8
	binary.BigEndian.PutUint64(p[1:], uint64(now.UnixNano()))
	return p
}

func stampOf(p []byte) (time.Time, bool) {
	if len(p) != 9 || p[0] != 0xf8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p[1:]))), true
}

// BenchmarkSFUVoice measures the SFU's one-way latency over loopback, in
// one process (one clock): an RTP packet written by a browser's audio
// link (pion in Go, DTLS-SRTP) until the native member (Go SDK over KCP)
// has its VoiceFrame, and the reverse. Frames go one at a time, 12 ms
// apart (under the room's 100 frames/s cap).
//
//	go test -run '^$' -bench SFUVoice -benchtime 500x ./internal/e2e/
func BenchmarkSFUVoice(b *testing.B) {
	srv := demoServer(b)
	ctx := ctxT(b)
	nTok, wTok := guest(b, srv, "native"), guest(b, srv, "web")
	arrived := make(chan time.Duration, 1)
	native, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: nTok, PingInterval: -1,
		Handler: func(m client.Message) {
			if m.Kind != frame.KindVoiceFrame {
				return
			}
			u, ok, err := client.DecodeRoomUpdate(m)
			if err != nil || !ok || u.Voice == nil {
				return
			}
			if at, ok := stampOf(u.Voice.Payload); ok {
				select {
				case arrived <- time.Since(at):
				default:
				}
			}
		}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = native.Close() })
	nr, err := native.JoinOrCreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Label: "sfu-bench", Capacity: 4, TickRate: 10})
	require.NoError(b, err)
	web, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: wTok, PingInterval: -1})
	require.NoError(b, err)
	b.Cleanup(func() { _ = web.Close() })
	_, err = web.JoinRoom(ctx, nr.ID())
	require.NoError(b, err)
	back := make(chan time.Duration, 1)
	peer := dialSFU(b, srv, wTok, web.Welcome().SessionID, nr.ID(), 4, func(p *rtp.Packet) {
		if at, ok := stampOf(p.Payload); ok {
			select {
			case back <- time.Since(at):
			default:
			}
		}
	})

	run := func(b *testing.B, send func(i int), got <-chan time.Duration) {
		lat := make([]time.Duration, 0, b.N)
		tk := time.NewTicker(12 * time.Millisecond)
		defer tk.Stop()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			<-tk.C
			send(i)
			select {
			case d := <-got:
				lat = append(lat, d)
			case <-time.After(time.Second):
				// lost: counted by what is missing from lat
			}
		}
		b.StopTimer()
		require.NotEmpty(b, lat)
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
		}
		b.ReportMetric(pct(0.50), "p50-µs")
		b.ReportMetric(pct(0.99), "p99-µs")
		b.ReportMetric(float64(b.N-len(lat)), "lost")
	}
	b.Run("browser-to-native", func(b *testing.B) {
		seq := uint16(0)
		run(b, func(i int) {
			seq++
			require.NoError(b, peer.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i) * 960},
				Payload: stampPayload(time.Now())}))
		}, arrived)
	})
	b.Run("native-to-browser", func(b *testing.B) {
		ts := uint32(0)
		run(b, func(int) {
			ts += 960
			_, err := nr.SendVoice(ts, stampPayload(time.Now()))
			require.NoError(b, err)
		}, back)
	})
}

// sfuOfferStatus posts a well-formed audio offer (postVoiceOffer) for a
// session and room and returns the status and the API's code.
func sfuOfferStatus(t *testing.T, srv *server.Server, token string, session, roomID uint64) (int, int) {
	t.Helper()
	return postVoiceOffer(t, srv, token, "session="+u64(session)+"&room="+u64(roomID))
}

// The server-wide cap on audio links and the room-type check, with pion
// in Go as the browser: with MaxAudioLinks 1 a second member's link is
// refused with voice_link_limit (429) until the first one ends; a relay
// room refuses with not_voice_room. Both counted.
func TestSFULinkCapAndRoomType(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &webrtc.Transport{Addr: "127.0.0.1:0"}),
		Rooms:      rooms.Config{MaxAudioLinks: 1},
	})
	ctx := ctxT(t)
	member := func(name string) (*client.Client, string) {
		tok := guest(t, srv, name)
		c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tok})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c, tok
	}
	a, aTok := member("a")
	bc, bTok := member("b")
	ra, err := a.JoinOrCreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Label: "cap", Capacity: 4})
	require.NoError(t, err)
	_, err = bc.JoinRoom(ctx, ra.ID())
	require.NoError(t, err)

	peer := dialSFU(t, srv, aTok, a.Welcome().SessionID, ra.ID(), 2, func(*rtp.Packet) {})
	st, code := sfuOfferStatus(t, srv, bTok, bc.Welcome().SessionID, ra.ID())
	assert.Equal(t, http.StatusTooManyRequests, st)
	assert.Equal(t, int(netcode.CodeVoiceLinkLimit), code)
	assert.Equal(t, uint64(1), srv.Rooms().Stats().Audio.Refused["limit"])

	// The first link ends (the browser closes it): the second may come.
	require.NoError(t, peer.pc.Close())
	require.Eventually(t, func() bool { return srv.Rooms().Stats().Audio.Links == 0 }, wait, 20*time.Millisecond)
	relay, err := a.JoinOrCreateRoom(ctx, client.RoomOptions{Type: "relay", Label: "not-voice"})
	require.NoError(t, err)
	st, code = sfuOfferStatus(t, srv, aTok, a.Welcome().SessionID, relay.ID()) // a's session has no link now
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Equal(t, int(netcode.CodeNotVoiceRoom), code)
	assert.Equal(t, uint64(1), srv.Rooms().Stats().Audio.Refused["not_voice_room"])
	dialSFU(t, srv, bTok, bc.Welcome().SessionID, ra.ID(), 2, func(*rtp.Packet) {})
	assert.Equal(t, int64(1), srv.Rooms().Stats().Audio.Links)
}

// An answered audio offer whose browser never connects is closed after
// the WebRTC listener's ConnectTimeout: the member's link slot is free
// again and the pending-connection reservation released.
func TestSFULinkConnectTimeout(t *testing.T) {
	srv := servertest.Start(t, server.Config{
		Transports: append(servertest.Transports(), &webrtc.Transport{Addr: "127.0.0.1:0",
			Config: webrtc.Config{ConnectTimeout: 300 * time.Millisecond}}),
	})
	ctx := ctxT(t)
	tok := guest(t, srv, "ghost")
	c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tok})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r, err := c.JoinOrCreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Label: "ghost"})
	require.NoError(t, err)

	// A real offer (pion), posted, its answer never applied: no ICE.
	me := &pion.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	pc, err := pion.NewAPI(pion.WithMediaEngine(me)).NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	_, err = pc.AddTransceiverFromKind(pion.RTPCodecTypeAudio, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendrecv})
	require.NoError(t, err)
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	require.NoError(t, pc.SetLocalDescription(offer))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		srv.HTTPURL()+server.VoicePath+"?session="+u64(c.Welcome().SessionID)+"&room="+u64(r.ID()), strings.NewReader(offer.SDP))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	assert.Equal(t, int64(1), srv.Rooms().Stats().Audio.Links)

	require.Eventually(t, func() bool {
		return srv.Rooms().Stats().Audio.Links == 0 && webrtcIO(srv)["audio_links"] == 0
	}, wait, 20*time.Millisecond, "the link that never connected is closed")
	// The slot is free: the same session may try again.
	dialSFU(t, srv, tok, c.Welcome().SessionID, r.ID(), 1, func(*rtp.Packet) {})
}
