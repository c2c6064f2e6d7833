package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/rooms"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// cutProxy forwards TCP connections from a loopback port to target
// until cut: then every connection it carries is closed at once, both
// ways, without a close record (as a lost link looks to both ends), and
// it accepts no more.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex // guards conns and cut
	conns []net.Conn
	cut   bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = in.Close()
			_ = out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
}

// Cut drops every connection and stops accepting.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	p.cut = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not a FIN after the buffered bytes
		}
		_ = c.Close()
	}
}

// gate holds dial attempts until opened.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate  { return &gate{ch: make(chan struct{})} }
func (g *gate) Open() { g.once.Do(func() { close(g.ch) }) }
func (g *gate) dial(d client.DialFunc) client.DialFunc {
	return func(ctx context.Context) (netcode.Conn, error) {
		select {
		case <-g.ch:
			return d(ctx)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// roomLog collects what a client's Handler is given: room updates and
// session events, in order.
type roomLog struct {
	updates chan client.RoomUpdate
	events  chan client.SessionEvent
	other   chan client.Message
}

func newRoomLog() *roomLog {
	return &roomLog{
		updates: make(chan client.RoomUpdate, 4096),
		events:  make(chan client.SessionEvent, 16),
		other:   make(chan client.Message, 1024),
	}
}

func (l *roomLog) handler(m client.Message) {
	u, ok, err := client.DecodeRoomUpdate(m)
	if err == nil && ok {
		l.updates <- u
		return
	}
	l.other <- m
}

func (l *roomLog) onSession(ev client.SessionEvent) { l.events <- ev }

func (l *roomLog) event(t *testing.T, kind client.SessionEventKind) client.SessionEvent {
	t.Helper()
	select {
	case ev := <-l.events:
		require.Equal(t, kind, ev.Kind, "event %+v", ev)
		return ev
	case <-time.After(roomWait):
		t.Fatalf("no session event %d", kind)
	}
	return client.SessionEvent{}
}

// memberEvent waits for the next RoomEvent of room r (skipping ticks).
func memberEvent(t *testing.T, c *client.Client, r *client.Room) *frame.RoomEvent {
	t.Helper()
	deadline := time.Now().Add(roomWait) // ticks keep coming: bound the whole wait
	for {
		require.True(t, time.Now().Before(deadline), "no room event within %v", roomWait)
		u := nextUpdate(t, c, r)
		if u.Event != nil {
			return u.Event
		}
	}
}

// reliableSeqs reads l's updates until it has seen the reliable inputs
// of member from, up to seq last, and returns their seqs in the order
// received; unreliable ones go to unrel.
func reliableSeqs(t *testing.T, l *roomLog, from uint32, last uint32, unrel *[]uint32) []uint32 {
	t.Helper()
	var got []uint32
	timeout := time.After(roomWait)
	for {
		select {
		case u := <-l.updates:
			if u.Tick == nil {
				continue
			}
			for _, in := range u.Tick.Inputs {
				if in.Member != from {
					continue
				}
				if u.Channel == netcode.Unreliable {
					*unrel = append(*unrel, in.Seq)
					continue
				}
				got = append(got, in.Seq)
				if in.Seq == last {
					return got
				}
			}
		case <-timeout:
			t.Fatalf("reliable inputs up to %d not all received: got %v", last, got)
		}
	}
}

func seqRange(a, b uint32) []uint32 {
	var s []uint32
	for i := a; i <= b; i++ {
		s = append(s, i)
	}
	return s
}

func resumeServer(t *testing.T, ec engine.Config) *server.Server {
	return servertest.Start(t, server.Config{Engine: ec, Rooms: rooms.Config{}})
}

// TestResumeOverAnotherTransportKeepsTheSeatAndReplaysOnce: a member on
// TCP loses its link mid-room and resumes over KCP. The other member sees
// it away then back (never left/joined); every reliable input broadcast
// meanwhile reaches it once, in order; unreliable ones sent while it was
// away do not; the server counts one resume.
func TestResumeOverAnotherTransportKeepsTheSeatAndReplaysOnce(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second})
	ctx := ctxT(t, roomWait)
	a := dialRoomClient(t, srv, transportTCP, "ann", client.Options{QueueSize: 4096})

	proxy := newCutProxy(t, srv.Addr(transportTCP))
	g := newGate()
	bl := newRoomLog()
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "bob")
	require.NoError(t, err)
	b, err := client.Dial(ctx, client.Options{
		Token:     tok,
		Dial:      tcp.Dialer{Addr: proxy.Addr()}.Dial,
		Dials:     []client.DialFunc{g.dial(kcp.Dialer{Addr: srv.Addr(transportKCP)}.Dial)},
		Handler:   bl.handler,
		OnSession: bl.onSession,
		Resume:    client.ResumeOptions{Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	w := b.Welcome()
	require.NotEmpty(t, w.ResumeID)
	assert.EqualValues(t, 20_000, w.ResumeWindowMs)

	ar, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 60})
	require.NoError(t, err)
	br, err := b.JoinRoom(ctx, ar.ID())
	require.NoError(t, err)
	ev := memberEvent(t, a, ar)
	require.Equal(t, frame.RoomEventJoined, ev.Event)

	var unrel []uint32
	for i := 1; i <= 20; i++ {
		_, err := ar.SendInput(netcode.Reliable, []byte{byte(i)})
		require.NoError(t, err)
	}
	assert.Equal(t, seqRange(1, 20), reliableSeqs(t, bl, ar.Me(), 20, &unrel))

	proxy.Cut()
	lost := bl.event(t, client.SessionLost)
	require.Error(t, lost.Err)
	ev = memberEvent(t, a, ar)
	require.Equal(t, frame.RoomEventAway, ev.Event, "the others see the member away, not left")
	assert.Equal(t, br.Me(), ev.Member)
	require.Eventually(t, func() bool { return srv.Engine().Stats().Resume.Parked == 1 }, roomWait, 5*time.Millisecond)

	// While it is away: reliable inputs (kept for the replay) and
	// unreliable ones (dropped). Seq numbers go on: 21..40 reliable,
	// 41..50 unreliable.
	for i := 21; i <= 40; i++ {
		_, err := ar.SendInput(netcode.Reliable, []byte{byte(i)})
		require.NoError(t, err)
	}
	for i := 41; i <= 50; i++ {
		_, err := ar.SendInput(netcode.Unreliable, []byte{byte(i)})
		require.NoError(t, err)
	}
	// The room has broadcast all of them (a tick after the last input).
	_, err = ar.SendInput(netcode.Reliable, []byte{51})
	require.NoError(t, err)
	for {
		u := nextUpdate(t, a, ar)
		if u.Tick != nil && len(u.Tick.Inputs) > 0 && u.Tick.Inputs[len(u.Tick.Inputs)-1].Seq == 51 {
			break
		}
	}

	g.Open()
	res := bl.event(t, client.SessionResumed)
	assert.Equal(t, transportKCP, res.Transport, "resumed over the fallback transport")
	assert.Positive(t, res.Replayed, "the reliable ticks carrying 21..51 were replayed")
	ev = memberEvent(t, a, ar)
	require.Equal(t, frame.RoomEventBack, ev.Event)
	assert.Equal(t, br.Me(), ev.Member)

	got := reliableSeqs(t, bl, ar.Me(), 51, &unrel)
	assert.Equal(t, append(seqRange(21, 40), 51), got, "each reliable input once, in order")
	for _, s := range unrel {
		assert.False(t, s >= 41 && s <= 50, "unreliable input %d sent while away was replayed", s)
	}
	assert.NotEqual(t, w.ResumeID, b.Welcome().ResumeID, "the secret rotates")
	assert.Equal(t, w.SessionID, b.Welcome().SessionID)

	// The session goes on over KCP: both ways.
	seq, err := br.SendInput(netcode.Reliable, []byte("back"))
	require.NoError(t, err)
	for {
		u := nextUpdate(t, a, ar)
		if u.Tick != nil && len(u.Tick.Inputs) > 0 && u.Tick.Inputs[0].Member == br.Me() && u.Tick.Inputs[0].Seq == seq {
			break
		}
	}
	st := srv.Engine().Stats().Resume
	assert.EqualValues(t, 1, st.Resumed)
	assert.Zero(t, st.Parked)
	assert.EqualValues(t, 1, st.ParkedTotal)
	assert.Zero(t, st.Refused["bad_secret"]+st.Refused["unknown"]+st.Refused["overflow"])
}

// TestResumeResendsRequestsSentWhileDown: a Call made while the
// connection is down is kept and sent on the resumed connection; its
// reply arrives once.
func TestResumeResendsRequestsSentWhileDown(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second})
	ctx := ctxT(t, roomWait)
	proxy := newCutProxy(t, srv.Addr(transportTCP))
	g := newGate()
	bl := newRoomLog()
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "bob")
	require.NoError(t, err)
	b, err := client.Dial(ctx, client.Options{
		Token:     tok,
		Dial:      tcp.Dialer{Addr: proxy.Addr()}.Dial,
		Dials:     []client.DialFunc{g.dial(tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial)},
		Handler:   bl.handler,
		OnSession: bl.onSession,
		Resume:    client.ResumeOptions{Backoff: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	r, err := b.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, Label: "kept"})
	require.NoError(t, err)

	proxy.Cut()
	bl.event(t, client.SessionLost)
	type listed struct {
		rooms []frame.RoomInfo
		err   error
	}
	done := make(chan listed, 1)
	go func() {
		rs, err := b.ListRooms(ctx, room.RelayType, "kept", 10)
		done <- listed{rs, err}
	}()
	require.Eventually(t, func() bool { return srv.Engine().Stats().Resume.Parked == 1 }, roomWait, 5*time.Millisecond)
	g.Open()
	bl.event(t, client.SessionResumed)
	l := <-done
	require.NoError(t, l.err)
	require.Len(t, l.rooms, 1)
	assert.Equal(t, r.ID(), l.rooms[0].RoomID, "the seat was kept: the room still lists its member")
	assert.EqualValues(t, 1, l.rooms[0].Members)
}

// TestResumeWindowExpires: a member that does not come back within the
// window leaves its rooms; its later Resume is refused with
// resume_unknown and the client ends with connection_lost.
func TestResumeWindowExpires(t *testing.T) {
	const window = 400 * time.Millisecond
	srv := resumeServer(t, engine.Config{ResumeWindow: window})
	ctx := ctxT(t, roomWait)
	a := dialRoomClient(t, srv, transportTCP, "ann", client.Options{QueueSize: 4096})
	proxy := newCutProxy(t, srv.Addr(transportTCP))
	g := newGate()
	bl := newRoomLog()
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "bob")
	require.NoError(t, err)
	b, err := client.Dial(ctx, client.Options{
		Token: tok, Dial: tcp.Dialer{Addr: proxy.Addr()}.Dial,
		Dials:   []client.DialFunc{g.dial(tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial)},
		Handler: bl.handler, OnSession: bl.onSession,
		Resume: client.ResumeOptions{MaxAttempts: 100, Backoff: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ar, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)
	_, err = b.JoinRoom(ctx, ar.ID())
	require.NoError(t, err)
	require.Equal(t, frame.RoomEventJoined, memberEvent(t, a, ar).Event)

	proxy.Cut()
	bl.event(t, client.SessionLost)
	require.Equal(t, frame.RoomEventAway, memberEvent(t, a, ar).Event)
	require.Equal(t, frame.RoomEventLeft, memberEvent(t, a, ar).Event, "the window expired: the member left")
	require.Eventually(t, func() bool { return srv.Engine().Stats().Resume.Expired == 1 }, roomWait, 5*time.Millisecond)

	g.Open()
	ended := bl.event(t, client.SessionEnded)
	assert.ErrorIs(t, ended.Err, netcode.CodeConnectionLost)
	assert.ErrorIs(t, ended.Err, netcode.CodeResumeUnknown)
	<-b.Done()
	assert.ErrorIs(t, b.Err(), netcode.CodeConnectionLost)
	_, err = b.ListRooms(ctx, "", "", 1)
	assert.ErrorIs(t, err, netcode.CodeConnectionLost, "calls after the end fail with the code")
	st := srv.Engine().Stats().Resume
	assert.EqualValues(t, 1, st.Refused["unknown"])
	assert.Zero(t, st.Parked)
}

// TestResumeOverflowWhileAwayEndsTheSession: a parked session whose
// replay buffer overflows ends at once (the room sees it leave) and its
// Resume gets resume_overflow: rejoin fresh.
func TestResumeOverflowWhileAwayEndsTheSession(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second, ReplayFrames: 8})
	ctx := ctxT(t, roomWait)
	a := dialRoomClient(t, srv, transportTCP, "ann", client.Options{QueueSize: 4096})
	proxy := newCutProxy(t, srv.Addr(transportTCP))
	g := newGate()
	bl := newRoomLog()
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "bob")
	require.NoError(t, err)
	b, err := client.Dial(ctx, client.Options{
		Token: tok, Dial: tcp.Dialer{Addr: proxy.Addr()}.Dial,
		Dials:   []client.DialFunc{g.dial(kcp.Dialer{Addr: srv.Addr(transportKCP)}.Dial)},
		Handler: bl.handler, OnSession: bl.onSession,
		Resume: client.ResumeOptions{Backoff: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ar, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType, TickRate: 60})
	require.NoError(t, err)
	_, err = b.JoinRoom(ctx, ar.ID())
	require.NoError(t, err)
	require.Equal(t, frame.RoomEventJoined, memberEvent(t, a, ar).Event)

	proxy.Cut()
	bl.event(t, client.SessionLost)
	require.Equal(t, frame.RoomEventAway, memberEvent(t, a, ar).Event)
	// More reliable ticks than the buffer holds (one per input at most).
	for i := 0; i < 40; i++ {
		_, err := ar.SendInput(netcode.Reliable, []byte{byte(i)})
		require.NoError(t, err)
		time.Sleep(time.Second / 60) // pace the inputs over ticks: each tick is one numbered frame
	}
	var ev *frame.RoomEvent
	for ev = memberEvent(t, a, ar); ev.Event != frame.RoomEventLeft; ev = memberEvent(t, a, ar) {
	}
	assert.EqualValues(t, 1, srv.Engine().Stats().Resume.OverflowEnded)

	g.Open()
	ended := bl.event(t, client.SessionEnded)
	assert.ErrorIs(t, ended.Err, netcode.CodeResumeOverflow, "the code tells the client to rejoin fresh")
	assert.EqualValues(t, 1, srv.Engine().Stats().Resume.Refused["overflow"])
}

// rawSession is a session over a raw transport connection, frames by
// hand.
type rawSession struct {
	t    *testing.T
	conn netcode.Conn
}

func rawDial(t *testing.T, d client.DialFunc) *rawSession {
	conn, err := d(ctxT(t, roomWait))
	require.NoError(t, err)
	// A read that waits too long fails the test instead of hanging it.
	watchdog := time.AfterFunc(roomWait, func() { _ = conn.Close(netcode.CodeOK, "test timed out") })
	t.Cleanup(func() {
		watchdog.Stop()
		_ = conn.Close(netcode.CodeOK, "test over")
	})
	return &rawSession{t: t, conn: conn}
}

func (r *rawSession) send(f frame.Frame) {
	b, err := frame.Marshal(f)
	require.NoError(r.t, err)
	require.NoError(r.t, r.conn.WriteMessage(netcode.Reliable, b))
}

// next returns the next frame of kind k, skipping others; a closed
// connection fails the test.
func (r *rawSession) next(k frame.Kind, f frame.Frame) {
	r.t.Helper()
	for {
		_, b, err := r.conn.ReadMessage()
		require.NoError(r.t, err, "waiting for kind %d", k)
		got, err := frame.Peek(b)
		require.NoError(r.t, err)
		if got == k {
			require.NoError(r.t, frame.Unmarshal(b, f))
			return
		}
	}
}

// wrongSecret is secret with its first character changed.
func wrongSecret(secret string) string {
	if secret[0] == 'A' {
		return "B" + secret[1:]
	}
	return "A" + secret[1:]
}

// closedWith reads until the connection ends and expects code, from a
// Close frame or the transport's close.
func (r *rawSession) closedWith(code netcode.Code) {
	r.t.Helper()
	for {
		_, b, err := r.conn.ReadMessage()
		if err != nil {
			var ce *netcode.CloseError
			require.ErrorAs(r.t, err, &ce)
			assert.Equal(r.t, code, ce.Code)
			return
		}
		if k, _ := frame.Peek(b); k == frame.KindClose {
			var c frame.Close
			require.NoError(r.t, frame.Unmarshal(b, &c))
			assert.Equal(r.t, code, c.Code)
			return
		}
	}
}

// refused expects Error then Close with code.
func (r *rawSession) refused(code netcode.Code) {
	r.t.Helper()
	var e frame.Error
	r.next(frame.KindError, &e)
	assert.Equal(r.t, code, e.Code, e.Message)
	var c frame.Close
	r.next(frame.KindClose, &c)
	assert.Equal(r.t, code, c.Code)
}

// TestResumeRefusalsAndTakeOver, over every transport: a wrong secret
// is refused (and counted) and leaves the live session alone; the right
// one takes the session over from a live (half-open) connection, which
// is closed with replaced; the old secret is void after that; an Ack
// above what was sent is bad_request.
func TestResumeRefusalsAndTakeOver(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second})
	dials := map[string]client.DialFunc{
		transportTCP: tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial,
		transportKCP: kcp.Dialer{Addr: srv.Addr(transportKCP)}.Dial,
	}
	tok, err := client.GuestToken(ctxT(t, roomWait), srv.HTTPURL(), "eve")
	require.NoError(t, err)
	var badSecrets uint64
	for name, d := range dials {
		t.Run(name, func(t *testing.T) {
			old := rawDial(t, d)
			old.send(&frame.Hello{Version: frame.ProtocolVersion, Token: tok, Resume: true})
			var w frame.Welcome
			old.next(frame.KindWelcome, &w)
			require.Len(t, w.ResumeID, 43)

			guess := rawDial(t, d)
			guess.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: wrongSecret(w.ResumeID)})
			guess.refused(netcode.CodeResumeBadSecret)
			badSecrets++
			assert.Equal(t, badSecrets, srv.Engine().Stats().Resume.Refused["bad_secret"])

			unknown := rawDial(t, d)
			unknown.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID + 1000, ResumeID: w.ResumeID})
			unknown.refused(netcode.CodeResumeUnknown)

			// The live session did not notice.
			old.send(&frame.Ping{ClientTimeUs: 7})
			var pong frame.Pong
			old.next(frame.KindPong, &pong)
			assert.EqualValues(t, 7, pong.ClientTimeUs)
			old.send(&frame.Ack{Received: 5})
			var e frame.Error
			old.next(frame.KindError, &e)
			assert.Equal(t, netcode.CodeBadRequest, e.Code, "an ack of frames never sent")

			// The rightful owner comes back on a new connection while the
			// old one is still open: it takes over, the old one is told.
			// It had processed no numbered frame; the Error above is
			// numbered 1 and is replayed.
			nw := rawDial(t, d)
			nw.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: w.ResumeID})
			var rw frame.Welcome
			nw.next(frame.KindWelcome, &rw)
			assert.True(t, rw.Resumed)
			assert.Equal(t, w.SessionID, rw.SessionID)
			assert.NotEqual(t, w.ResumeID, rw.ResumeID)
			assert.EqualValues(t, 1, rw.Replay)
			var re frame.Error
			nw.next(frame.KindError, &re)
			assert.Equal(t, netcode.CodeBadRequest, re.Code, "the replayed frame")
			old.closedWith(netcode.CodeReplaced)

			again := rawDial(t, d)
			again.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: w.ResumeID})
			again.refused(netcode.CodeResumeBadSecret)
			badSecrets++
			// A client that claims more than was sent is refused.
			liar := rawDial(t, d)
			liar.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: rw.ResumeID, Received: 99})
			liar.refused(netcode.CodeBadRequest)
			nw.send(&frame.Close{})
		})
	}
	st := srv.Engine().Stats().Resume
	assert.EqualValues(t, 2, st.Replaced)
	assert.EqualValues(t, badSecrets, st.Refused["bad_secret"])
	assert.EqualValues(t, 2, st.Refused["bad_count"])
}

// TestResumeOffEndsAtOnce: with resume off on the server, or a client
// that does not ask for it in Hello (one written before resume, or the Go
// SDK with Resume.Off), a lost connection ends the session at once and
// Welcome offers no secret; the SDK does not resume.
func TestResumeOffEndsAtOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		window time.Duration
		off    bool
	}{"server off": {window: -1}, "client off": {off: true}} {
		t.Run(name, func(t *testing.T) { resumeOff(t, tc.window, tc.off) })
	}
}

func resumeOff(t *testing.T, window time.Duration, clientOff bool) {
	srv := resumeServer(t, engine.Config{ResumeWindow: window})
	ctx := ctxT(t, roomWait)
	a := dialRoomClient(t, srv, transportTCP, "ann", client.Options{})
	proxy := newCutProxy(t, srv.Addr(transportTCP))
	tok, err := client.GuestToken(ctx, srv.HTTPURL(), "bob")
	require.NoError(t, err)
	b, err := client.Dial(ctx, client.Options{Token: tok, Dial: tcp.Dialer{Addr: proxy.Addr()}.Dial, Resume: client.ResumeOptions{Off: clientOff}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	assert.Empty(t, b.Welcome().ResumeID)
	assert.Zero(t, b.Welcome().ResumeWindowMs)
	ar, err := a.CreateRoom(ctx, client.RoomOptions{Type: room.RelayType})
	require.NoError(t, err)
	_, err = b.JoinRoom(ctx, ar.ID())
	require.NoError(t, err)
	require.Equal(t, frame.RoomEventJoined, memberEvent(t, a, ar).Event)
	proxy.Cut()
	require.Equal(t, frame.RoomEventLeft, memberEvent(t, a, ar).Event)
	<-b.Done()
	assert.False(t, errors.Is(b.Err(), netcode.CodeConnectionLost), "no resume was tried: %v", b.Err())
}

// switchDial wraps a dial function: dials fail while it is off, and the
// connections it made can be dropped as a lost link (a transport close
// with a code other than ok).
type switchDial struct {
	mu    sync.Mutex // guards the fields below
	on    bool
	conns []netcode.Conn
	d     client.DialFunc
}

func (s *switchDial) dial(ctx context.Context) (netcode.Conn, error) {
	s.mu.Lock()
	on := s.on
	s.mu.Unlock()
	if !on {
		return nil, errors.New("test: link down")
	}
	c, err := s.d(ctx)
	if err == nil {
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
	}
	return c, err
}

func (s *switchDial) set(on bool) {
	s.mu.Lock()
	s.on = on
	s.mu.Unlock()
}

// drop closes every connection made, as a link that failed.
func (s *switchDial) drop() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close(netcode.CodeConnectionLost, "test: link lost")
	}
}

// noPresence reads a's pushes for d and fails on a presence update of
// user other than online (an online push, late from the friendship, is
// no flicker).
func noPresence(t *testing.T, a *client.Client, user string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-a.Messages():
			require.True(t, ok, "client ended: %v", a.Err())
			if m.Kind != frame.KindPresenceUpdate {
				continue
			}
			var p frame.PresenceUpdate
			require.NoError(t, m.Decode(&p))
			if p.UserID == user {
				assert.Equal(t, frame.PresenceOnline, p.Presence, "presence of %s flickered", user)
			}
		case <-timeout:
			return
		}
	}
}

// TestResumeKeepsPresence: friends see no presence change while a session
// is lost and resumed; once a loss outlasts the window, they see it go
// offline.
func TestResumeKeepsPresence(t *testing.T) {
	const (
		window = 1500 * time.Millisecond
		grace  = 50 * time.Millisecond
	)
	srv := servertest.Start(t, server.Config{
		Transports: tcpOnly(),
		Accounts:   accountsForTests(),
		Social:     socialForResume(grace),
		Engine:     engine.Config{ResumeWindow: window},
	})
	ctx := ctxT(t, socialWait)
	alice := socialRegister(t, srv, "alice")
	bob := &socialUser{}
	require.NoError(t, client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
		map[string]string{"username": "bob", "password": "long enough pw"}, bob))
	proxy := newCutProxy(t, srv.Addr(transportTCP))
	direct := &switchDial{d: tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial}
	events := make(chan client.SessionEvent, 16)
	b, err := client.Dial(ctx, client.Options{
		Token: bob.Token, Dial: tcp.Dialer{Addr: proxy.Addr()}.Dial, Dials: []client.DialFunc{direct.dial},
		OnSession: func(ev client.SessionEvent) { events <- ev },
		Resume:    client.ResumeOptions{Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	nextEvent := func(k client.SessionEventKind) {
		t.Helper()
		select {
		case ev := <-events:
			require.Equal(t, k, ev.Kind, "%+v", ev)
		case <-time.After(socialWait):
			t.Fatalf("no session event %d", k)
		}
	}

	require.NoError(t, alice.c.RequestFriend(ctx, "bob"))
	require.NoError(t, b.AcceptFriend(ctx, alice.UserID))
	fl, err := alice.c.Friends(ctx)
	require.NoError(t, err)
	require.Len(t, fl, 1)
	require.Equal(t, frame.PresenceOnline, fl[0].Presence)
	noPresence(t, alice.c, "", 0) // drain

	// A short loss, resumed: no presence change at all.
	proxy.Cut()
	nextEvent(client.SessionLost)
	require.Eventually(t, func() bool { return srv.Engine().Stats().Resume.Parked == 1 }, socialWait, 5*time.Millisecond)
	noPresence(t, alice.c, bob.UserID, 10*grace) // a closed session would have gone offline by now
	direct.set(true)
	nextEvent(client.SessionResumed)
	noPresence(t, alice.c, bob.UserID, 4*grace)
	fl, err = alice.c.Friends(ctx)
	require.NoError(t, err)
	assert.Equal(t, frame.PresenceOnline, fl[0].Presence)

	// A loss that outlasts the window: offline, once the window is over.
	direct.set(false)
	lostAt := time.Now()
	direct.drop()
	nextEvent(client.SessionLost)
	var off frame.PresenceUpdate
	for {
		u := nextSocial(t, alice.c, frame.KindPresenceUpdate).(*frame.PresenceUpdate)
		if u.UserID == bob.UserID {
			off = *u
			break
		}
	}
	assert.Equal(t, frame.PresenceOffline, off.Presence)
	assert.GreaterOrEqual(t, time.Since(lostAt), window, "offline only after the window")
	assert.EqualValues(t, 1, srv.Engine().Stats().Resume.Expired)
	nextEvent(client.SessionEnded)
}

func accountsForTests() accounts.Config {
	return accounts.Config{Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}}
}

func socialForResume(grace time.Duration) social.Config {
	return social.Config{PresenceGrace: grace, TickInterval: 10 * time.Millisecond}
}

// TestResumeParkCaps: lost sessions above a cap on parked sessions (here
// one per user) end at once instead of waiting, counted by cap.
func TestResumeParkCaps(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second, MaxParkedPerUser: 1})
	d := tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial
	tok, err := client.GuestToken(ctxT(t, roomWait), srv.HTTPURL(), "mallory")
	require.NoError(t, err)
	var ids []uint64
	for range 3 {
		s := rawDial(t, d)
		s.send(&frame.Hello{Version: frame.ProtocolVersion, Token: tok, Resume: true})
		var w frame.Welcome
		s.next(frame.KindWelcome, &w)
		ids = append(ids, w.SessionID)
		require.NoError(t, s.conn.Close(netcode.CodeConnectionLost, "gone"), "a lost link, not a goodbye")
	}
	require.Eventually(t, func() bool {
		st := srv.Engine().Stats().Resume
		return st.ParkedTotal == 1 && st.ParkRefused["per_user"] == 2
	}, roomWait, 5*time.Millisecond)
	assert.Equal(t, 1, srv.Engine().Stats().Resume.Parked)
	// Only the parked one can be resumed; the others ended.
	refusedOrResumed := 0
	for _, id := range ids {
		s := rawDial(t, d)
		s.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: id, ResumeID: "x"})
		var e frame.Error
		s.next(frame.KindError, &e)
		if e.Code == netcode.CodeResumeBadSecret {
			refusedOrResumed++ // known, wrong secret: the parked one
		} else {
			assert.Equal(t, netcode.CodeResumeUnknown, e.Code)
		}
	}
	assert.Equal(t, 1, refusedOrResumed)
}

// TestResumeCannotSaveAKickedSession: a session the server is closing for
// cause (here too many bad frames) cannot be taken over by a Resume, even
// while its old connection lingers.
func TestResumeCannotSaveAKickedSession(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second, CloseLinger: 5 * time.Second})
	d := tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial
	tok, err := client.GuestToken(ctxT(t, roomWait), srv.HTTPURL(), "mallory")
	require.NoError(t, err)
	old := rawDial(t, d)
	old.send(&frame.Hello{Version: frame.ProtocolVersion, Token: tok, Resume: true})
	var w frame.Welcome
	old.next(frame.KindWelcome, &w)
	for range engine.DefaultMaxBadFrames {
		require.NoError(t, old.conn.WriteMessage(netcode.Reliable, []byte{0x91, 0xc1}))
	}
	var cl frame.Close
	old.next(frame.KindClose, &cl) // the old connection stays open: the server lingers
	require.Equal(t, netcode.CodeTooManyErrors, cl.Code)

	nw := rawDial(t, d)
	nw.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: w.ResumeID})
	nw.refused(netcode.CodeResumeUnknown)
}

// TestResumeRefusedForASessionThatDidNotOptIn: a session whose Hello did
// not ask for resume has no secret; a Resume naming it (with the empty
// secret) is refused and does not touch it.
func TestResumeRefusedForASessionThatDidNotOptIn(t *testing.T) {
	srv := resumeServer(t, engine.Config{ResumeWindow: 20 * time.Second})
	for name, d := range map[string]client.DialFunc{
		transportTCP: tcp.Dialer{Addr: srv.Addr(transportTCP)}.Dial,
		transportKCP: kcp.Dialer{Addr: srv.Addr(transportKCP)}.Dial,
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := client.GuestToken(ctxT(t, roomWait), srv.HTTPURL(), "plain")
			require.NoError(t, err)
			old := rawDial(t, d)
			old.send(&frame.Hello{Version: frame.ProtocolVersion, Token: tok})
			var w frame.Welcome
			old.next(frame.KindWelcome, &w)
			assert.Empty(t, w.ResumeID)
			assert.Zero(t, w.ResumeWindowMs)

			thief := rawDial(t, d)
			thief.send(&frame.Resume{Version: frame.ProtocolVersion, SessionID: w.SessionID, ResumeID: ""})
			thief.refused(netcode.CodeResumeUnknown)
			old.send(&frame.Ping{ClientTimeUs: 9})
			var pong frame.Pong
			old.next(frame.KindPong, &pong)
			assert.EqualValues(t, 9, pong.ClientTimeUs, "the session still runs on its own connection")
		})
	}
}
