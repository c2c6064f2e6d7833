// Package peertest is a test client that speaks tickwire frames by hand
// over any netcode.Conn: the engine's tests drive it over an in-memory
// Conn, the end-to-end tests over real KCP and TCP sockets. It checks with
// testify's require, so a failed expectation ends the test.
//
// Concurrency: a Peer is used from the test goroutine; Pump starts one
// reader goroutine (conntest.Pump), which the test's cleanup stops and
// waits for.
package peertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Peer is one hand-driven connection.
type Peer struct {
	t    testing.TB
	Conn netcode.Conn
	wait time.Duration
	msgs <-chan conntest.Msg
}

// New wraps c; every wait for a frame gives up after wait. The Conn is
// closed when the test ends. Nothing is read until Pump.
func New(t testing.TB, c netcode.Conn, wait time.Duration) *Peer {
	t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "test over") })
	return &Peer{t: t, Conn: c, wait: wait}
}

// Pump starts reading (conntest.Pump): the reader ends with the Conn or
// at the test's cleanup.
func (p *Peer) Pump() *Peer {
	p.msgs = conntest.Pump(p.t, p.Conn)
	return p
}

// Send encodes f and writes it on ch.
func (p *Peer) Send(ch netcode.Channel, f frame.Frame) {
	p.t.Helper()
	b, err := frame.Marshal(f)
	require.NoError(p.t, err)
	p.SendRaw(ch, b)
}

// SendRaw writes b on ch as it is.
func (p *Peer) SendRaw(ch netcode.Channel, b []byte) {
	p.t.Helper()
	require.NoError(p.t, p.Conn.WriteMessage(ch, b))
}

// Next returns the next message; the Conn must still be open.
func (p *Peer) Next() conntest.Msg {
	p.t.Helper()
	m := conntest.Recv(p.t, p.msgs, p.wait)
	require.NoError(p.t, m.Err, "connection ended")
	return m
}

// NextKind reads the next message, requires kind k and, when f is not
// nil, decodes it into f.
func (p *Peer) NextKind(k frame.Kind, f frame.Frame) conntest.Msg {
	p.t.Helper()
	m := p.Next()
	got, err := frame.Peek(m.Data)
	require.NoError(p.t, err)
	require.Equal(p.t, k, got, "frame kind")
	if f != nil {
		require.NoError(p.t, frame.Unmarshal(m.Data, f))
	}
	return m
}

// ExpectError reads an Error frame with code.
func (p *Peer) ExpectError(code netcode.Code) frame.Error {
	p.t.Helper()
	var e frame.Error
	p.NextKind(frame.KindError, &e)
	require.Equal(p.t, code, e.Code, "error code (message %q)", e.Message)
	return e
}

// ExpectClosed reads the Close frame with code, then the end of the
// connection, which carries the same code at the transport level.
func (p *Peer) ExpectClosed(code netcode.Code) {
	p.t.Helper()
	var c frame.Close
	p.NextKind(frame.KindClose, &c)
	require.Equal(p.t, code, c.Code, "close code (reason %q)", c.Reason)
	m := conntest.Recv(p.t, p.msgs, p.wait)
	var ce *netcode.CloseError
	require.ErrorAs(p.t, m.Err, &ce, "connection not closed after the Close frame")
	require.Equal(p.t, code, ce.Code)
}

// Hello authenticates with tok and returns the Welcome.
func (p *Peer) Hello(tok string) frame.Welcome {
	p.t.Helper()
	p.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: tok, ClientName: "peertest", ClientVersion: "1"})
	var w frame.Welcome
	p.NextKind(frame.KindWelcome, &w)
	return w
}
