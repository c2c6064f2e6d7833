package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/auth"
	"github.com/tickwire/tickwire/internal/wire"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
	"github.com/tickwire/tickwire/netcode/tcp"
)

// kcp-go starts process-wide workers (its timer scheduler and packet
// post-processors) on first use; they are not per-connection and never
// end, so they are not leaks of ours.
var kcpGlobals = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/xtaci/kcp-go/v5.(*TimedSched).run"),
	goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"),
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, kcpGlobals...) }

const wait = 10 * time.Second

var transports = []string{client.TransportKCP, client.TransportTCP}

// forEachTransport runs f as a subtest per transport.
func forEachTransport(t *testing.T, f func(t *testing.T, tr string)) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

func addrOf(srv *wire.Server, tr string) string {
	if tr == client.TransportTCP {
		return srv.TCPAddr()
	}
	return srv.KCPAddr()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// guest gets a guest token over the HTTP API.
func guest(t testing.TB, srv *wire.Server, name string) string {
	tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), name)
	require.NoError(t, err)
	return tok
}

// dial connects a client SDK session, closed at the end of the test.
func dial(t testing.TB, srv *wire.Server, tr string, o client.Options) *client.Client {
	t.Helper()
	o.Transport = tr
	o.Addr = addrOf(srv, tr)
	if o.Token == "" {
		o.Token = guest(t, srv, "player")
	}
	c, err := client.Dial(ctxT(t), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawConn is a bare transport connection that speaks frames by hand, with
// a reader goroutine pumping into msgs (ending with the read error).
type rawConn struct {
	t    testing.TB
	c    netcode.Conn
	msgs chan rawMsg
}

type rawMsg struct {
	ch  netcode.Channel
	b   []byte
	err error
}

// rawDial dials without reading; call pump to start reading.
func rawDial(t testing.TB, srv *wire.Server, tr string) *rawConn {
	t.Helper()
	var c netcode.Conn
	var err error
	if tr == client.TransportTCP {
		c, err = tcp.Dial(ctxT(t), srv.TCPAddr(), tcp.Config{})
	} else {
		c, err = kcp.Dial(ctxT(t), srv.KCPAddr(), kcp.Config{})
	}
	require.NoError(t, err)
	r := &rawConn{t: t, c: c}
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "test over") })
	return r
}

func (r *rawConn) pump() *rawConn {
	r.msgs = make(chan rawMsg, 4096)
	done := make(chan struct{})
	stop := make(chan struct{}) // closed at cleanup: a full msgs must not strand the reader
	go func() {
		defer close(done)
		for {
			ch, b, err := r.c.ReadMessage()
			select {
			case r.msgs <- rawMsg{ch: ch, b: append([]byte(nil), b...), err: err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	r.t.Cleanup(func() {
		close(stop)
		_ = r.c.Close(netcode.CodeOK, "test over")
		<-done
	})
	return r
}

func (r *rawConn) send(ch netcode.Channel, f frame.Frame) {
	b, err := frame.Marshal(f)
	require.NoError(r.t, err)
	r.sendRaw(ch, b)
}

func (r *rawConn) sendRaw(ch netcode.Channel, b []byte) {
	require.NoError(r.t, r.c.WriteMessage(ch, b))
}

func (r *rawConn) next() rawMsg {
	r.t.Helper()
	select {
	case m := <-r.msgs:
		require.NoError(r.t, m.err, "connection ended")
		return m
	case <-time.After(wait):
		require.FailNow(r.t, "timed out waiting for a frame")
	}
	return rawMsg{}
}

func (r *rawConn) nextKind(k frame.Kind, f frame.Frame) rawMsg {
	r.t.Helper()
	m := r.next()
	got, err := frame.Peek(m.b)
	require.NoError(r.t, err)
	require.Equal(r.t, k, got, "frame kind")
	if f != nil {
		require.NoError(r.t, frame.Unmarshal(m.b, f))
	}
	return m
}

func (r *rawConn) expectError(code netcode.Code) frame.Error {
	r.t.Helper()
	var e frame.Error
	r.nextKind(frame.KindError, &e)
	require.Equal(r.t, code, e.Code, "error code (message %q)", e.Message)
	return e
}

// expectClosed reads the Close frame with code, then the end of the
// connection (which carries the same code at the transport level).
func (r *rawConn) expectClosed(code netcode.Code) {
	r.t.Helper()
	var c frame.Close
	r.nextKind(frame.KindClose, &c)
	require.Equal(r.t, code, c.Code, "close code (reason %q)", c.Reason)
	select {
	case m := <-r.msgs:
		var ce *netcode.CloseError
		require.ErrorAs(r.t, m.err, &ce)
		require.Equal(r.t, code, ce.Code)
	case <-time.After(wait):
		require.FailNow(r.t, "connection not closed after the Close frame")
	}
}

func (r *rawConn) hello(tok string) frame.Welcome {
	r.t.Helper()
	r.send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: tok, ClientName: "raw"})
	var w frame.Welcome
	r.nextKind(frame.KindWelcome, &w)
	return w
}

// echoRoundTrip checks that c still answers an Echo.
func echoRoundTrip(t testing.TB, c *client.Client, ch netcode.Channel, seq uint32) {
	t.Helper()
	require.NoError(t, c.Send(ch, &frame.Echo{Seq: seq, Payload: []byte("still alive")}))
	deadline := time.After(wait)
	for {
		select {
		case m, ok := <-c.Messages():
			require.True(t, ok, "client ended: %v", c.Err())
			if m.Kind != frame.KindEcho {
				continue
			}
			var e frame.Echo
			require.NoError(t, m.Decode(&e))
			if e.Seq == seq {
				require.Equal(t, "still alive", string(e.Payload))
				require.Equal(t, ch, m.Channel)
				return
			}
		case <-deadline:
			require.FailNow(t, "no echo", "seq %d on %s", seq, ch)
		}
	}
}

// expiredToken signs a token that expired an hour ago with the server's key.
func expiredToken(t testing.TB, srv *wire.Server) string {
	tok, _, err := srv.Engine().Signer().Issue(auth.Claims{UserID: "u_old", Name: "old"}, time.Now().Add(-2*time.Hour), time.Hour)
	require.NoError(t, err)
	return tok
}
