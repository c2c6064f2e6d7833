package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/longpoll"
	"github.com/tickwire/tickwire/netcode/tlsconf"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// TestBrowserOverTLS loads the demo page and the SDK from a server that
// serves HTTPS with its self-signed development certificate, in a
// Chromium told to trust that certificate's key
// (--ignore-certificate-errors-spki-list), and connects over WSS and over
// long-polling on HTTPS: the SDK derives wss: and https: from the page
// and refuses a plain http: API from it. A Chromium not told to trust the
// key does not load the page at all.
func TestBrowserOverTLS(t *testing.T) {
	data := t.TempDir()
	ts, err := tlsconf.New(tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: data})
	require.NoError(t, err)
	srv := servertest.Start(t, server.Config{
		DataDir: data, TLS: ts.TLSConfig(), Routes: servertest.Demo(t),
		Transports: []netcode.Transport{&ws.Transport{}, &longpoll.Transport{}},
	})
	base := srv.HTTPURL()
	require.True(t, strings.HasPrefix(base, "https://"), base)

	b := startBrowser(t, withFlag("ignore-certificate-errors-spki-list", ts.SPKIHash()))
	tb := b.newTab(t, "secure")
	tb.navigate(t, base+"/")
	var page struct {
		Protocol string `json:"protocol"`
		Secure   bool   `json:"secure"`
	}
	tb.eval(t, `({protocol: location.protocol, secure: window.isSecureContext})`, &page)
	assert.Equal(t, "https:", page.Protocol)
	assert.True(t, page.Secure)

	for _, transport := range []string{"websocket", "longpoll"} {
		var got struct {
			Transport string  `json:"transport"`
			URL       string  `json:"url"`
			RTT       float64 `json:"rtt"`
		}
		tb.eval(t, `(async () => {
			const { Client } = await import("/web/tickwire.js");
			const { token } = await Client.guest(location.origin, "tls");
			const c = await Client.connect({ token, transport: `+jsStr(transport)+` }); // the page's origin: https
			const rtt = await c.ping();
			const out = { transport: c.transport, url: c.url, rtt };
			c.close();
			return out;
		})()`, &got)
		assert.Equal(t, transport, got.Transport)
		assert.Equal(t, base, got.URL)
		assert.Positive(t, got.RTT, transport)
	}
	st := srv.Engine().ServiceStats()
	var lpOpened uint64
	for _, l := range st.Listeners {
		if l.Transport == "longpoll" {
			lpOpened = l.Accepted
		}
	}
	assert.Positive(t, lpOpened, "long-poll sessions came over the HTTPS listener, the only HTTP one")

	// From this https: page, a plain http: API is refused by the SDK
	// before anything is sent.
	var refusal struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	plain := "http://" + srv.HTTPAddr()
	tb.eval(t, `(async () => {
		const { Client } = await import("/web/tickwire.js");
		try { await Client.guest(`+jsStr(plain)+`, "x"); return { code: 0, msg: "" }; }
		catch (e) { return { code: e.code, msg: e.message }; }
	})()`, &refusal)
	assert.Equal(t, int(netcode.CodeForbidden), refusal.Code, refusal.Msg)
	assert.Contains(t, refusal.Msg, "https://")
	tb.requireNoProblems(t)

	// Browsers check certificates themselves: without the trusted key the
	// page does not load (there is no insecure switch for pages).
	strict := startBrowser(t).newTab(t, "strict")
	ctx, cancel := context.WithTimeout(strict.ctx, 10*time.Second)
	defer cancel()
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ERR_CERT")
	strict.ignoreProblems(`ERR_CERT`)
}
