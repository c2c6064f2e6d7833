package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/kcp"
)

// browserCallJS connects the page's user with the SDK the server serves
// and answers the first call that rings: accept, then answer every
// signal of the call with "answer:" + its bytes, and record the call's
// states and what arrived. %q: the token.
const browserCallJS = `(async (token) => {
  const { Client } = await import("/web/tickwire.js");
  const c = await Client.connect({ url: location.origin, token, clientName: "call-test", requestTimeoutMs: 5000 });
  const rec = { transport: c.transport, sessionId: c.sessionId, states: [], signals: [], errors: [] };
  window.rec = rec;
  window.callClient = c;
  c.on("call", (call) => {
    window.theCall = call;
    rec.states.push(call.state + "/" + call.reason + "/" + call.incoming);
    call.on("state", (x) => rec.states.push(x.state + "/" + x.reason + "/" + x.byUserId));
    call.on("signal", (s) => {
      const got = new TextDecoder().decode(s.payload);
      rec.signals.push({ from: s.fromUserId, fromSession: s.fromSession, callId: s.callId, text: got, bytes: Array.from(s.payload) });
      call.signal(new TextEncoder().encode("answer:" + got)).catch((e) => rec.errors.push(String(e)));
    });
    call.accept().catch((e) => rec.errors.push(String(e)));
  });
  return rec.transport;
})(%q)`

type browserCallRec struct {
	Transport string   `json:"transport"`
	SessionID uint64   `json:"sessionId"`
	States    []string `json:"states"`
	Signals   []struct {
		From        string `json:"from"`
		FromSession uint64 `json:"fromSession"`
		CallID      uint64 `json:"callId"`
		Text        string `json:"text"`
		Bytes       []byte `json:"bytes"`
	} `json:"signals"`
	Errors []string `json:"errors"`
}

// A browser user and a Go SDK user run a call between friends: the Go
// user rings, the page accepts, the two exchange signaling payloads
// through the call (byte for byte), and the page hangs up; both see every
// state. Media is not part of it.
func TestBrowserAndGoClientCall(t *testing.T) {
	srv := demoServer(t)
	ctx := ctxT(t)
	reg := func(name string) (tok, id string) {
		var a struct {
			Token  string `json:"token"`
			UserID string `json:"user_id"`
		}
		require.NoError(t, client.PostJSON(ctx, nil, srv.HTTPURL()+"/v1/auth/register",
			map[string]string{"username": name, "password": "correct horse battery"}, &a))
		return a.Token, a.UserID
	}
	goTok, goID := reg("gopher")
	webTok, webID := reg("webby")
	dialKCP := func(tok string) *client.Client {
		c, err := client.Dial(ctx, client.Options{Dial: kcp.Dialer{Addr: srv.Addr("kcp")}.Dial, Token: tok, QueueSize: 4096})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	g := dialKCP(goTok)
	w := dialKCP(webTok) // only to accept the friend request
	require.NoError(t, g.RequestFriend(ctx, "webby"))
	require.NoError(t, w.AcceptFriend(ctx, goID))
	require.NoError(t, w.Close())

	b := startBrowser(t)
	tab := b.newTab(t, "webby")
	tab.ignoreProblems(faviconNotFound)
	tab.navigate(t, srv.HTTPURL()+"/healthz")
	var transport string
	tab.eval(t, fmt.Sprintf(browserCallJS, webTok), &transport)
	t.Logf("the page's session runs over %s", transport)

	// next returns the Go client's next push of kind k that match accepts.
	next := func(k frame.Kind, match func(frame.Frame) bool) frame.Frame {
		t.Helper()
		for {
			select {
			case m := <-g.Messages():
				f, ok, err := client.DecodeSocial(m)
				if !ok || m.Kind != k {
					continue
				}
				require.NoError(t, err)
				if match == nil || match(f) {
					return f
				}
			case <-ctx.Done():
				t.Fatalf("no push of kind %d", k)
				return nil
			}
		}
	}
	require.Eventually(t, func() bool {
		var online bool
		fs, err := g.Friends(ctx)
		require.NoError(t, err)
		for _, f := range fs {
			online = online || (f.UserID == webID && f.Presence == frame.PresenceOnline)
		}
		return online
	}, wait, 20*time.Millisecond, "the page's user is online")

	u, err := g.Invite(ctx, webID)
	require.NoError(t, err)
	active := next(frame.KindCallUpdate, func(f frame.Frame) bool { return f.(*frame.CallUpdate).State == frame.CallActive }).(*frame.CallUpdate)
	assert.Equal(t, u.CallID, active.CallID)
	var rec browserCallRec
	tab.eval(t, `window.rec`, &rec)
	assert.Equal(t, rec.SessionID, active.CalleeSession, "the page's session accepted")

	offer := []byte("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\na=ice-ufrag:Zz9é\r\n")
	require.NoError(t, g.SignalCall(ctx, u.CallID, offer))
	ans := next(frame.KindSignalRecv, nil).(*frame.SignalRecv)
	assert.Equal(t, append([]byte("answer:"), offer...), ans.Payload, "the page's answer, byte for byte")
	assert.Equal(t, webID, ans.FromUserID)
	assert.Equal(t, rec.SessionID, ans.FromSession)
	assert.Equal(t, u.CallID, ans.CallID)

	tab.eval(t, `window.theCall.hangUp().then(() => true)`, nil)
	ended := next(frame.KindCallUpdate, func(f frame.Frame) bool { return f.(*frame.CallUpdate).State == frame.CallEnded }).(*frame.CallUpdate)
	assert.Equal(t, frame.CallEndHungUp, ended.Reason)
	assert.Equal(t, webID, ended.ByUserID)

	tab.waitJS(t, `window.rec.states.length === 3`, wait)
	tab.eval(t, `window.rec`, &rec)
	assert.Equal(t, []string{"ringing/none/true", "active/none/", "ended/hung_up/" + webID}, rec.States)
	require.Len(t, rec.Signals, 1)
	assert.Equal(t, goID, rec.Signals[0].From)
	assert.Equal(t, g.Welcome().SessionID, rec.Signals[0].FromSession)
	assert.Equal(t, offer, rec.Signals[0].Bytes, "the offer reached the page byte for byte")
	assert.Empty(t, rec.Errors)
	var calls int
	tab.eval(t, `window.callClient.calls.length`, &calls)
	assert.Zero(t, calls, "the ended call is forgotten")
	tab.requireNoProblems(t)
}
