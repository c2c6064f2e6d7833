package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
)

// proxyMode is what a cutProxy does with a new connection.
type proxyMode int

const (
	proxyPass      proxyMode = iota // forward it
	proxyRefuseAll                  // close it at once: the network is down
	proxyRefuseWS                   // close it if it asks for a WebSocket upgrade (/v1/ws): only plain HTTP gets through
)

// cutProxy forwards TCP connections from a loopback port to the server's
// HTTP port, so that a test can drop the browser's connections the way a
// network does: Cut closes every connection it carries, both ends at once
// (the browser and the server each see their TCP connection end, no close
// frame, no Close), and the mode decides what happens to new ones.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup // the accept loop and every pipe

	mu    sync.Mutex // guards the fields below
	mode  proxyMode
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// URL is the proxy's origin, for the page.
func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

// SetMode changes what happens to new connections.
func (p *cutProxy) SetMode(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// Cut closes every connection the proxy carries.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers c for Cut; false if the proxy refuses connections now.
func (p *cutProxy) track(c net.Conn, mode proxyMode) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode != mode {
		return false // the mode changed while the request line was read
	}
	p.conns[c] = struct{}{}
	return true
}

// serve reads the first request line (to tell a WebSocket upgrade from a
// plain request), then pipes both ways until either side ends or Cut.
func (p *cutProxy) serve(c net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if mode == proxyRefuseAll {
		_ = c.Close()
		return
	}
	br := bufio.NewReaderSize(c, 4096)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := br.ReadSlice('\n')
	_ = c.SetReadDeadline(time.Time{})
	if err != nil || (mode == proxyRefuseWS && bytes.Contains(line, []byte(" /v1/ws"))) {
		_ = c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, mode) || !p.track(up, mode) {
		_ = c.Close()
		_ = up.Close()
		p.Cut() // drops the other one if it was tracked
		return
	}
	if _, err := up.Write(line); err != nil {
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}()
	_, _ = io.Copy(up, br)
	_ = up.Close()
}

// The browser SDK resumes its session after its connection is cut in the
// middle of a room: a Go client (TCP, not through the proxy) in the same
// relay room sends reliable inputs before, during and after the cut. The
// page's WebSocket is dropped by the proxy, which then refuses everything
// for a while and later refuses WebSocket upgrades, so the resume comes
// over long-poll. The page must keep its session id and seat (no rejoin,
// no fresh session), receive every reliable tick input of the Go client
// exactly once and in order, and the Go client must see the page's member
// go away and come back, never leave and join.
// memberEvent is a room event as the Go member saw it.
type memberEvent struct {
	event  frame.RoomEventType
	member uint32
}

// goMember is a Go client (TCP, not through the proxy) in a relay room:
// it records the room's member events and sends reliable inputs.
type goMember struct {
	t      *testing.T
	r      *client.Room
	events chan memberEvent
	echoed chan uint32 // seqs of its own reliable inputs, as broadcast
	sent   []uint32

	mu     sync.Mutex          // guards inputs
	inputs map[uint32][]uint32 // seqs of the other members' reliable inputs, by member, as broadcast
}

// inputsOf returns the seqs of member's reliable inputs seen so far.
func (g *goMember) inputsOf(member uint32) []uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.inputs[member])
}

func newGoMember(t *testing.T, srv *server.Server, label string) *goMember {
	t.Helper()
	ctx := ctxT(t)
	goc, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: guest(t, srv, "gopher"), QueueSize: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { _ = goc.Close() })
	r, err := goc.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: label, Capacity: 4, TickRate: 30})
	require.NoError(t, err)
	g := &goMember{t: t, r: r, events: make(chan memberEvent, 64), echoed: make(chan uint32, 1024), inputs: map[uint32][]uint32{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(func() { close(done); wg.Wait() })
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case m, ok := <-goc.Messages():
				if !ok {
					return
				}
				u, isRoom, err := client.DecodeRoomUpdate(m)
				if err != nil || !isRoom || !r.Owns(u) {
					continue
				}
				if u.Event != nil {
					g.events <- memberEvent{u.Event.Event, u.Event.Member}
				}
				if u.Tick != nil && u.Channel == netcode.Reliable {
					for _, in := range u.Tick.Inputs {
						if in.Member == r.Me() {
							g.echoed <- in.Seq
							continue
						}
						g.mu.Lock()
						g.inputs[in.Member] = append(g.inputs[in.Member], in.Seq)
						g.mu.Unlock()
					}
				}
			}
		}
	}()
	return g
}

// send sends n reliable inputs and waits until the relay broadcast them
// (the Go client has its own last one back).
func (g *goMember) send(n int) {
	t := g.t
	t.Helper()
	for range n {
		seq, err := g.r.SendInput(netcode.Reliable, []byte("x"))
		require.NoError(t, err)
		g.sent = append(g.sent, seq)
	}
	deadline := time.After(wait)
	for {
		select {
		case s := <-g.echoed:
			if s == g.sent[len(g.sent)-1] {
				return
			}
		case <-deadline:
			require.FailNow(t, "the relay never echoed", "seq %d", g.sent[len(g.sent)-1])
		}
	}
}

// nextEvent waits for the room's next member event.
func (g *goMember) nextEvent(what string) memberEvent {
	g.t.Helper()
	select {
	case e := <-g.events:
		return e
	case <-time.After(wait):
		require.FailNow(g.t, "no room event", what)
	}
	return memberEvent{}
}

// resumeJS connects the page's SDK (WebSocket, then long-poll) and joins
// the Go member's room (its id and the Go member's number are filled in),
// recording what the tests check in window.st.
const resumeJS = `(async () => {
	const { Client } = await import("/web/tickwire.js");
	const { token } = await Client.guest(location.origin, "Web");
	const c = await Client.connect({ token, transports: ["websocket", "longpoll"], requestTimeoutMs: 30000 });
	const st = window.st = { seqs: [], unreliable: 0, events: [], transports: [c.transport], resumed: [], failed: [], reconnected: [], rejoined: 0 };
	c.on("disconnected", (e) => st.events.push("disconnected:" + e.resuming));
	c.on("resumed", (e) => { st.events.push("resumed"); st.resumed.push(e); });
	c.on("resumeFailed", (e) => { st.events.push("resumeFailed:" + e.codeName); st.failed.push(e); });
	c.on("reconnected", (e) => { st.events.push("reconnected"); st.reconnected.push(e.rooms.map(String)); });
	c.on("transport", (e) => st.transports.push(e.transport));
	const room = await c.joinRoom(BigInt(%q));
	room.on("tick", (t) => {
		for (const i of t.inputs) if (i.member === %d) t.unreliable ? st.unreliable++ : st.seqs.push(i.seq);
	});
	room.on("rejoined", () => st.rejoined++);
	window.c = c; window.room = room;
	return { sessionId: c.sessionId, me: room.me, window: c.welcome.resumeWindowMs };
})()`

// pageJoined is what resumeJS returns.
type pageJoined struct {
	SessionID float64 `json:"sessionId"`
	Me        uint32  `json:"me"`
	Window    float64 `json:"window"`
}

func TestBrowserSessionResume(t *testing.T) {
	srv := demoServer(t)
	u, err := url.Parse(srv.HTTPURL())
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	g := newGoMember(t, srv, "resume")
	r := g.r

	b := startBrowser(t)
	tb := b.newTab(t, "resumer")
	tb.navigate(t, proxy.URL()+"/")
	var joined pageJoined
	tb.eval(t, fmt.Sprintf(resumeJS, fmt.Sprint(r.ID()), r.Me()), &joined)
	require.Positive(t, joined.Window, "the server offers resume")
	assert.Equal(t, memberEvent{frame.RoomEventJoined, joined.Me}, g.nextEvent("the page joined"))
	tb.ignoreProblems(`net::ERR_`, `WebSocket connection to .* failed`, `Failed to load resource`)

	// Before the cut: reliable inputs, and unreliable ones, whose ticks
	// the page must not count as numbered frames (a count above what the
	// server numbered would be refused).
	g.send(20)
	tb.waitJS(t, `st.seqs.length === 20`, wait)
	for range 5 {
		_, err := r.SendInput(netcode.Unreliable, []byte("u"))
		require.NoError(t, err)
	}
	tb.waitJS(t, `st.unreliable > 0`, wait)
	// The page sends too: five reliable inputs before the cut, five while
	// it resumes (kept, then resent), five after.
	var pageSeqs []uint32
	tb.eval(t, `[1, 2, 3, 4, 5].map(() => room.send(new Uint8Array([1]), { reliable: true }))`, &pageSeqs)

	// The cut: the page's WebSocket and the server's end of it drop; new
	// connections are refused.
	proxy.SetMode(proxyRefuseAll)
	proxy.Cut()
	assert.Equal(t, memberEvent{frame.RoomEventAway, joined.Me}, g.nextEvent("away"), "the seat is kept")
	tb.waitJS(t, `window.c.resuming`, wait)
	var more []uint32
	tb.eval(t, `[1, 2, 3, 4, 5].map(() => room.send(new Uint8Array([2]), { reliable: true }))`, &more)
	pageSeqs = append(pageSeqs, more...)
	for range 3 {
		g.send(10) // broadcast to the parked session in its own tick: kept for the replay
	}

	// Back, but WebSocket stays blocked: the resume comes over long-poll.
	proxy.SetMode(proxyRefuseWS)
	tb.waitJS(t, `st.resumed.length === 1`, 2*wait)
	assert.Equal(t, memberEvent{frame.RoomEventBack, joined.Me}, g.nextEvent("back"), "back, not left and joined")

	tb.eval(t, `[1, 2, 3, 4, 5].map(() => room.send(new Uint8Array([3]), { reliable: true }))`, &more)
	pageSeqs = append(pageSeqs, more...)
	g.send(20)
	tb.waitJS(t, fmt.Sprintf(`st.seqs.length >= %d`, len(g.sent)), wait)
	require.Eventually(t, func() bool { return len(g.inputsOf(joined.Me)) >= len(pageSeqs) }, wait, 10*time.Millisecond,
		"the page's inputs reach the Go member")
	assert.Equal(t, pageSeqs, g.inputsOf(joined.Me), "the page's reliable inputs, before, during and after the cut: once each, in order")
	// and acknowledged, by time (AckDelayMs) if not by count
	tb.waitJS(t, `c.stats.acks > 0`, wait)

	var got struct {
		Seqs       []uint32 `json:"seqs"`
		Events     []string `json:"events"`
		Transports []string `json:"transports"`
		Rejoined   int      `json:"rejoined"`
		SessionID  float64  `json:"sessionId"`
		Me         uint32   `json:"me"`
		Replayed   int      `json:"replayed"`
		ResumedID  float64  `json:"resumedId"`
		Resumes    int      `json:"resumes"`
		DownMs     float64  `json:"downMs"`
		Attempts   int      `json:"attempts"`
	}
	tb.eval(t, `({ seqs: st.seqs, events: st.events, transports: st.transports, rejoined: st.rejoined,
		sessionId: c.sessionId, me: room.me, replayed: st.resumed[0].replayed, resumedId: st.resumed[0].sessionId,
		resumes: c.stats.resumes, downMs: st.resumed[0].downMs, attempts: st.resumed[0].attempts })`, &got)
	t.Logf("resumed over %s after %.0f ms and %d attempts (the proxy refused everything meanwhile); %d frames replayed",
		got.Transports[len(got.Transports)-1], got.DownMs, got.Attempts, got.Replayed)
	require.Equal(t, g.sent, got.Seqs, "every reliable input of the Go client, once each, in order")
	assert.Equal(t, joined.SessionID, got.SessionID, "the same session")
	assert.Equal(t, joined.SessionID, got.ResumedID)
	assert.Equal(t, joined.Me, got.Me, "the same seat")
	assert.Zero(t, got.Rejoined, "no rejoin")
	assert.Equal(t, []string{"disconnected:true", "resumed"}, got.Events)
	assert.Equal(t, []string{"websocket", "longpoll"}, got.Transports)
	assert.GreaterOrEqual(t, got.Replayed, 3, "the three ticks broadcast while the page was away came in the replay")
	assert.Equal(t, 1, got.Resumes)

	// No leave, no join after all this.
	select {
	case e := <-g.events:
		assert.Failf(t, "an extra room event", "%+v", e)
	default:
	}
	tb.requireNoProblems(t)
}

// A resume the server refuses falls back to a fresh session that joins
// the room again. The page's secret is spoiled before the cut (as a stale
// secret would be), so the server answers its Resume with
// resume_bad_secret (31): the SDK reports resumeFailed with that code,
// opens a fresh session (a new session id) and rejoins the room by id with
// a new member number. The Go member sees the old seat away, the new one
// join, and the old one leave when the (short) resume window has passed.
func TestBrowserSessionResumeRefusedRejoinsFresh(t *testing.T) {
	srv := demoServer(t, engine.Config{ResumeWindow: 1500 * time.Millisecond})
	u, err := url.Parse(srv.HTTPURL())
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	g := newGoMember(t, srv, "refused")
	r := g.r

	b := startBrowser(t)
	tb := b.newTab(t, "refused")
	tb.navigate(t, proxy.URL()+"/")
	var joined pageJoined
	tb.eval(t, fmt.Sprintf(resumeJS, fmt.Sprint(r.ID()), r.Me()), &joined)
	require.Equal(t, float64(1500), joined.Window)
	assert.Equal(t, memberEvent{frame.RoomEventJoined, joined.Me}, g.nextEvent("the page joined"))
	tb.ignoreProblems(`net::ERR_`, `WebSocket connection to .* failed`, `Failed to load resource`)
	g.send(5)
	tb.waitJS(t, `st.seqs.length === 5`, wait)

	tb.eval(t, `c.welcome.resumeId = "spoiled-" + c.welcome.resumeId.slice(8)`, nil)
	proxy.Cut()
	assert.Equal(t, memberEvent{frame.RoomEventAway, joined.Me}, g.nextEvent("away"))
	tb.waitJS(t, `st.reconnected.length === 1`, wait)

	var got struct {
		Events      []string   `json:"events"`
		FailedCode  int        `json:"failedCode"`
		Reconnected [][]string `json:"reconnected"`
		Rejoined    int        `json:"rejoined"`
		SessionID   float64    `json:"sessionId"`
		Me          uint32     `json:"me"`
		Open        bool       `json:"open"`
	}
	tb.eval(t, `({ events: st.events, failedCode: st.failed[0].code, reconnected: st.reconnected, rejoined: st.rejoined,
		sessionId: c.sessionId, me: room.me, open: room.isOpen })`, &got)
	assert.Equal(t, []string{"disconnected:true", "resumeFailed:resume_bad_secret", "reconnected"}, got.Events)
	assert.Equal(t, int(netcode.CodeResumeBadSecret), got.FailedCode)
	assert.Equal(t, [][]string{{fmt.Sprint(r.ID())}}, got.Reconnected, "the room was joined again")
	assert.Equal(t, 1, got.Rejoined)
	assert.True(t, got.Open)
	assert.NotEqual(t, joined.SessionID, got.SessionID, "a fresh session")
	assert.NotEqual(t, joined.Me, got.Me, "a new seat")

	assert.Equal(t, memberEvent{frame.RoomEventJoined, got.Me}, g.nextEvent("the fresh session joined"))
	assert.Equal(t, memberEvent{frame.RoomEventLeft, joined.Me}, g.nextEvent("the old seat left after the window"))

	// The fresh session gets the room's ticks.
	n := len(g.sent)
	g.send(3)
	tb.waitJS(t, fmt.Sprintf(`st.seqs.length >= %d`, n+3), wait)
	tb.requireNoProblems(t)
}
