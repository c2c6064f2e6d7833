package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/server"
)

// browserVoiceJS connects the page's user, joins the voice room of the
// label, takes the fake microphone (Chromium's test tone) and opens the
// audio link. %q: token, label.
const browserVoiceJS = `(async (token, label) => {
  const T = await import("/web/tickwire.js");
  const c = await T.Client.connect({ url: location.origin, token, clientName: "voice-test", requestTimeoutMs: 5000 });
  const room = await c.joinOrCreateRoom({ type: "voice", label, capacity: 8, tickRate: 10 });
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const link = await T.joinVoice(c, room, { stream });
  const rec = { me: room.me, sessionId: c.sessionId, transport: c.transport, slots: link.slots.length, speaking: [], voice: [], slotEvents: [], closed: "" };
  link.on("speaking", (e) => rec.speaking.push(e));
  link.on("voice", (e) => rec.voice.push({ member: e.member, event: e.event }));
  link.on("slot", (e) => rec.slotEvents.push(e));
  link.on("closed", (e) => (rec.closed = e.reason));
  for (const s of link.slots) {
    const a = new Audio();
    a.srcObject = s.stream;
    a.play().catch(() => {});
  }
  window.T = T; window.c = c; window.room = room; window.link = link; window.rec = rec;
  return rec;
})(%q, %q)`

// browserInboundJS sums the audio link's inbound-rtp packets and lists
// the member numbers each slot has carried (CSRC).
const browserInboundJS = `(async () => {
  const st = await window.link.pc.getStats();
  let n = 0;
  st.forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "audio") n += r.packetsReceived; });
  const csrcs = window.link.pc.getTransceivers().map((t) => t.receiver.getContributingSources().map((s) => s.source));
  return { n, csrcs, state: window.link.pc.connectionState, closed: window.rec.closed };
})()`

type browserVoiceRec struct {
	Me        uint32 `json:"me"`
	SessionID uint64 `json:"sessionId"`
	Transport string `json:"transport"`
	Slots     int    `json:"slots"`
	Speaking  []struct {
		Member   uint32 `json:"member"`
		Speaking bool   `json:"speaking"`
	} `json:"speaking"`
	Voice []struct {
		Member uint32 `json:"member"`
		Event  string `json:"event"`
	} `json:"voice"`
	Closed string `json:"closed"`
}

type browserInbound struct {
	N      int        `json:"n"`
	CSRCs  [][]uint32 `json:"csrcs"`
	State  string     `json:"state"`
	Closed string     `json:"closed"`
}

func (b browserInbound) carried(member uint32) bool {
	for _, s := range b.CSRCs {
		for _, m := range s {
			if m == member {
				return true
			}
		}
	}
	return false
}

// voiceCollector records what a Go SDK member of a voice room receives.
type voiceCollector struct {
	mu     sync.Mutex // guards the fields below
	frames map[uint32][]frame.VoiceFrame
	events []frame.VoiceEvent
	after  map[uint32]int // frames[m] length when m's last muted event arrived
}

func collectVoice(t *testing.T, c *client.Client) *voiceCollector {
	vc := &voiceCollector{frames: map[uint32][]frame.VoiceFrame{}, after: map[uint32]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case m, ok := <-c.Messages():
				if !ok {
					return
				}
				u, isRoom, err := client.DecodeRoomUpdate(m)
				if err != nil || !isRoom {
					continue
				}
				vc.mu.Lock()
				switch {
				case u.Voice != nil:
					f := *u.Voice
					f.Payload = append([]byte(nil), f.Payload...)
					vc.frames[f.Member] = append(vc.frames[f.Member], f)
				case u.VoiceEvent != nil:
					vc.events = append(vc.events, *u.VoiceEvent)
					if u.VoiceEvent.Event == frame.VoiceMuted {
						vc.after[u.VoiceEvent.Member] = len(vc.frames[u.VoiceEvent.Member])
					}
				}
				vc.mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	return vc
}

func (vc *voiceCollector) count(m uint32) int {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return len(vc.frames[m])
}

func (vc *voiceCollector) snapshot(m uint32) []frame.VoiceFrame {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return append([]frame.VoiceFrame(nil), vc.frames[m]...)
}

func (vc *voiceCollector) sawEvent(m uint32, ev frame.VoiceEventType) bool {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	for _, e := range vc.events {
		if e.Member == m && e.Event == ev {
			return true
		}
	}
	return false
}

// opusFrameMs is the duration of one Opus frame by the TOC byte's
// configuration number (RFC 6716 §3.1), in tenths of a millisecond.
func opusFrameMs(toc byte) int {
	cfg := int(toc >> 3)
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		return []int{100, 200, 400, 600}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		return []int{100, 200}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		return []int{25, 50, 100, 200}[cfg%4]
	}
}

func voiceBrowser(t *testing.T) *browser {
	return startBrowser(t, withFlag("use-fake-device-for-media-stream", true), withFlag("use-fake-ui-for-media-stream", true),
		withFlag("autoplay-policy", "no-user-gesture-required"))
}

// A voice room mixes a native Go SDK member (KCP) and browser members
// (Chromium, audio through the SFU): the browser's Opus reaches the
// native member as voice frames, the native member's frames reach the
// browser as RTP on a slot named by its CSRC, two browsers hear each
// other and never themselves, mute stops forwarding for both kinds,
// speaking events are the same for both, a stranger's offer is refused
// with a code, and leaving the room or ending the session closes the
// audio link.
func TestBrowserVoiceRoom(t *testing.T) {
	srv := demoServer(t)
	ctx := ctxT(t)
	label := "voice-e2e"
	goTok := guest(t, srv, "gopher")
	g, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: goTok, QueueSize: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	gr, err := g.JoinOrCreateRoom(ctx, client.RoomOptions{Type: client.VoiceType, Label: label, Capacity: 8, TickRate: 10})
	require.NoError(t, err)
	vc := collectVoice(t, g)

	b := voiceBrowser(t)
	tab1 := b.newTab(t, "webby")
	tab1.ignoreProblems(faviconNotFound, `429.*/v1/rtc/voice`) // the second link, refused on purpose
	tab1.navigate(t, srv.HTTPURL()+"/healthz")
	var rec browserVoiceRec
	tab1.eval(t, fmt.Sprintf(browserVoiceJS, guest(t, srv, "webby"), label), &rec)
	t.Logf("browser member %d, session over %s, %d slots", rec.Me, rec.Transport, rec.Slots)
	require.Equal(t, 4, rec.Slots)
	web := rec.Me

	// Browser → native: the tone arrives as voice frames, seq +1 and
	// timestamp +960 per 20 ms Opus packet.
	require.Eventually(t, func() bool { return vc.count(web) >= 50 }, wait, 20*time.Millisecond, "the browser's audio reaches the Go member")
	fs := vc.snapshot(web)
	for i, f := range fs {
		require.NotEmpty(t, f.Payload)
		assert.Equal(t, 200, opusFrameMs(f.Payload[0]), "frame %d: a 20 ms Opus packet (TOC %#x)", i, f.Payload[0])
		if i > 0 {
			require.Greater(t, f.Seq, fs[i-1].Seq, "sequence numbers increase")
			assert.Equal(t, uint32(960)*(f.Seq-fs[i-1].Seq), f.Timestamp-fs[i-1].Timestamp, "48 kHz timestamps follow the sequence")
		}
	}
	require.Eventually(t, func() bool { return vc.sawEvent(web, frame.VoiceSpeaking) }, wait, 20*time.Millisecond, "the Go member sees the browser speak")
	tab1.waitJS(t, fmt.Sprintf(`window.rec.speaking.some((e) => e.member === %d && e.speaking)`, web), wait)

	// Native → browser: the Go member replays the browser's packets
	// (valid Opus) with its own numbering.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		ts := uint32(0)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tk.C:
				ts += 960
				if _, err := gr.SendVoice(ts, fs[i%len(fs)].Payload); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	inbound := func(tb *tab) browserInbound {
		var in browserInbound
		tb.eval(t, browserInboundJS, &in)
		return in
	}
	require.Eventually(t, func() bool {
		in := inbound(tab1)
		return in.N >= 50 && in.carried(gr.Me())
	}, wait, 50*time.Millisecond, "the Go member's frames reach the browser on a slot carrying its member number")
	assert.False(t, inbound(tab1).carried(web), "the browser never gets its own audio back")
	tab1.waitJS(t, fmt.Sprintf(`window.rec.speaking.some((e) => e.member === %d && e.speaking)`, gr.Me()), wait)

	// Native mute: the browser gets no more of its frames.
	muted0 := srv.Rooms().Stats().Voice.Drops.Muted
	require.NoError(t, gr.SetVoice(ctx, true, false))
	tab1.waitJS(t, fmt.Sprintf(`window.rec.voice.some((e) => e.member === %d && e.event === "muted")`, gr.Me()), wait)
	n1 := inbound(tab1).N
	require.Eventually(t, func() bool { return srv.Rooms().Stats().Voice.Drops.Muted >= muted0+25 }, wait, 20*time.Millisecond)
	assert.LessOrEqual(t, inbound(tab1).N, n1+3, "a muted native member is not forwarded to the browser")
	require.NoError(t, gr.SetVoice(ctx, false, false))

	// Browser mute: the Go member gets no more of its frames.
	muted0 = srv.Rooms().Stats().Voice.Drops.Muted
	tab1.eval(t, `window.link.mute(true).then(() => true)`, nil)
	require.Eventually(t, func() bool { return vc.sawEvent(web, frame.VoiceMuted) }, wait, 20*time.Millisecond)
	vc.mu.Lock()
	atMute := vc.after[web]
	vc.mu.Unlock()
	require.Eventually(t, func() bool { return srv.Rooms().Stats().Voice.Drops.Muted >= muted0+25 }, wait, 20*time.Millisecond,
		"the browser's track keeps sending, the room drops it")
	assert.LessOrEqual(t, vc.count(web), atMute+2, "a muted browser member is not forwarded")
	tab1.eval(t, `window.link.mute(false).then(() => true)`, nil)

	// A second audio link for the same session: voice_link_limit.
	var code int
	tab1.eval(t, `window.T.joinVoice(window.c, window.room, {}).then(() => 0, (e) => e.code)`, &code)
	assert.Equal(t, int(netcode.CodeVoiceLinkLimit), code)

	// A stranger: the Go member's session under another user's token, and
	// a room the session is not in: not_in_room, counted, nothing allocated.
	refusedBefore := srv.Rooms().Stats().Audio.Refused["not_member"]
	stranger := guest(t, srv, "stranger")
	for _, c := range []struct{ tok, query string }{
		{stranger, fmt.Sprintf("session=%d&room=%d", g.Welcome().SessionID, gr.ID())}, // not the token's session
		{goTok, fmt.Sprintf("session=%d&room=%d", g.Welcome().SessionID, gr.ID()^1)},  // not in that room
	} {
		st, code := postVoiceOffer(t, srv, c.tok, c.query)
		assert.Equal(t, http.StatusForbidden, st, c.query)
		assert.Equal(t, int(netcode.CodeNotInRoom), code, c.query)
	}
	assert.Equal(t, refusedBefore+2, srv.Rooms().Stats().Audio.Refused["not_member"])

	// A second browser: the two hear each other, never themselves.
	tab2 := b.newTab(t, "second")
	tab2.ignoreProblems(faviconNotFound)
	tab2.navigate(t, srv.HTTPURL()+"/healthz")
	var rec2 browserVoiceRec
	tab2.eval(t, fmt.Sprintf(browserVoiceJS, guest(t, srv, "second"), label), &rec2)
	require.Eventually(t, func() bool { return inbound(tab2).carried(web) && inbound(tab1).carried(rec2.Me) },
		wait, 50*time.Millisecond, "each browser hears the other")
	assert.False(t, inbound(tab1).carried(web))
	assert.False(t, inbound(tab2).carried(rec2.Me))
	require.Eventually(t, func() bool { return vc.count(rec2.Me) >= 20 }, wait, 20*time.Millisecond, "the Go member hears the second browser")
	assert.Equal(t, int64(2), srv.Rooms().Stats().Audio.Links)

	// Leaving the room closes the audio link on both ends.
	tab2.eval(t, `window.room.leave().then(() => true)`, nil)
	require.Eventually(t, func() bool { return srv.Rooms().Stats().Audio.Links == 1 }, wait, 20*time.Millisecond)
	require.Eventually(t, func() bool { return webrtcIO(srv)["audio_links"] == 1 }, wait, 20*time.Millisecond,
		"the server closed the PeerConnection")
	require.Eventually(t, func() bool { in := inbound(tab2); return in.State != "connected" }, wait, 50*time.Millisecond,
		"the browser sees its audio PeerConnection go")

	// The session's end closes its audio link too.
	tab1.eval(t, `window.c.close().then(() => true)`, nil)
	require.Eventually(t, func() bool { return srv.Rooms().Stats().Audio.Links == 0 && webrtcIO(srv)["audio_links"] == 0 },
		wait, 20*time.Millisecond, "the first browser's session ended: its link is closed")
	tab1.requireNoProblems(t)
}

// postVoiceOffer posts a syntactically valid audio offer and returns the
// status and the API's code.
func postVoiceOffer(t *testing.T, srv *server.Server, token, query string) (int, int) {
	t.Helper()
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:uuuu\r\na=ice-pwd:pppppppppppppppppppppppp\r\n" +
		"a=fingerprint:sha-256 AA:BB\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, srv.HTTPURL()+server.VoicePath+"?"+query, strings.NewReader(offer))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	t.Logf("%s: %d %d %s", query, res.StatusCode, body.Code, body.Message)
	return res.StatusCode, body.Code
}

// webrtcIO is the WebRTC listener's IO counters (its audio links among them).
func webrtcIO(srv *server.Server) map[string]uint64 {
	for _, ls := range srv.Engine().ServiceStats().Listeners {
		if ls.Transport == "webrtc" {
			return ls.IO
		}
	}
	return nil
}
