package e2e

// Browser benchmarks: what a page in headless Chromium on loopback gets
// from the browser SDK, measured by the SDK in the page.
//
//	go test -run '^$' -bench Browser -count 3 ./internal/e2e/
//
// BenchmarkBrowserRTT: the round trip of c.ping() per transport, p50 and
// p99 in µs (ns/op is the wall time per ping, the CDP call amortised over
// up to browserPingBatch pings). Chromium's performance.now() is coarsened
// (100 µs in a page that is not cross-origin isolated, plus jitter), so
// the percentiles are good to about 0.1 ms. BenchmarkBrowserJoin: from the
// navigation's start to the demo's "joined a room" for a new guest, per
// forced transport.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/server"
)

// benchEngine lifts the limits a benchmark runs into: a page pings as
// fast as it can (the default allows a session 200 frames a second) and
// BenchmarkBrowserJoin asks for a guest token per run (10 a minute per
// address by default).
var benchEngine = engine.Config{MaxFramesPerSecond: -1, GuestsPerIP: -1}

// browserPingBatch bounds the pings of one evaluation in the page.
const browserPingBatch = 500

// browserBatchTimeout bounds one batch of pings: 500 slow ones (a
// long-poll ping that waits for the next send, see the report of the
// SDK's LPConn.pump) take seconds.
const browserBatchTimeout = time.Minute

// browserWarmup is how many pings a connection answers before it is
// measured (JIT, buffers, the first ICE consent checks).
const browserWarmup = 100

// benchConnectJS connects a guest from the demo page (signed out, so the
// demo itself stays idle) with the SDK the server serves, the transport
// forced. %q: the transport.
const benchConnectJS = `(async () => {
  const { Client } = await import("/web/tickwire.js");
  const auth = await Client.guest(location.origin, "bench");
  window.benchClient = await Client.connect({ url: location.origin, token: auth.token, transport: %q, clientName: "bench", requestTimeoutMs: 2000 });
  return window.benchClient.transport;
})()`

// benchPingJS pings n times one after another and returns the SDK's RTTs
// (ms). A reliable ping is waited for however long it takes (up to the
// client's request timeout, which fails the run); an unreliable one may
// be lost: after 500 ms it counts as lost and the next one goes out.
// %d: n, %t: unreliable.
const benchPingJS = `(async (n, unreliable) => {
  const c = window.benchClient, rtts = [];
  let lost = 0;
  while (rtts.length < n) {
    if (!unreliable) {
      rtts.push(await c.ping());
      continue;
    }
    let timer;
    const p = c.ping({ unreliable });
    p.catch(() => {});
    const r = await Promise.race([p, new Promise((res) => { timer = setTimeout(() => res(-1), 500); })]);
    clearTimeout(timer);
    if (r < 0) {
      if (++lost > 50) throw new Error("more than 50 pings lost");
      continue;
    }
    rtts.push(r);
  }
  return { rtts, lost };
})(%d, %t)`

// benchFetchJS times n sequential same-origin fetches of /healthz (ms):
// the floor of any HTTP round trip from this page, and so of long-polling.
const benchFetchJS = `(async (n) => {
  const rtts = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch("/healthz", { cache: "no-store" });
    await res.arrayBuffer();
    rtts.push(performance.now() - t0);
  }
  return { rtts, lost: 0 };
})(%d)`

// pingResult is what benchPingJS and benchFetchJS return.
type pingResult struct {
	RTTs []float64 `json:"rtts"`
	Lost int       `json:"lost"`
}

// percentileMs is the p-th percentile (0 < p ≤ 1, nearest rank) of sorted.
func percentileMs(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// reportRTT reports the percentiles of rtts (ms) in µs.
func reportRTT(b *testing.B, rtts []float64, lost int) {
	s := slices.Sorted(slices.Values(rtts))
	b.ReportMetric(percentileMs(s, 0.50)*1000, "p50-µs")
	b.ReportMetric(percentileMs(s, 0.99)*1000, "p99-µs")
	b.ReportMetric(s[len(s)-1]*1000, "max-µs")
	b.ReportMetric(float64(lost), "lost")
}

// BenchmarkBrowserRTT measures the SDK's ping from one page per
// transport, connected with the transport forced; fetch is a bare HTTP
// round trip from the same page, for comparison with long-polling.
func BenchmarkBrowserRTT(b *testing.B) {
	srv := demoServer(b, benchEngine)
	br := startBrowser(b)
	for _, bc := range []struct {
		name, transport string
		unreliable      bool
	}{
		{"webrtc-unreliable", "webrtc", true},
		{"webrtc-reliable", "webrtc", false},
		{"websocket", "websocket", false},
		{"longpoll", "longpoll", false},
		{"fetch", "", false},
	} {
		// One page per case, opened here: a sub-benchmark's cleanups run
		// after each of its runs (b.N = 1, 100, ...), the page must last
		// over all of them.
		tb := benchRTTPage(b, br, srv, bc.name, bc.transport, bc.unreliable)
		b.Run(bc.name, func(b *testing.B) {
			b.ResetTimer()
			var all []float64
			lost := 0
			for left := b.N; left > 0; left -= browserPingBatch {
				var r pingResult
				require.NoError(b, tb.evalErr(benchPingsJS(bc.transport, min(left, browserPingBatch), bc.unreliable), &r, browserBatchTimeout))
				all = append(all, r.RTTs...)
				lost += r.Lost
			}
			b.StopTimer()
			require.Len(b, all, b.N)
			reportRTT(b, all, lost)
			tb.requireNoProblems(b)
		})
	}
}

// benchPingsJS is the script of n round trips of a case.
func benchPingsJS(transport string, n int, unreliable bool) string {
	if transport == "" {
		return fmt.Sprintf(benchFetchJS, n)
	}
	return fmt.Sprintf(benchPingJS, n, unreliable)
}

// benchRTTPage opens the page of one RTT case, connected and warmed up.
func benchRTTPage(b *testing.B, br *browser, srv *server.Server, name, transport string, unreliable bool) *tab {
	tb := br.newTab(b, name)
	openDemo(b, tb, srv, "")
	if transport != "" {
		var got string
		tb.eval(b, fmt.Sprintf(benchConnectJS, transport), &got)
		require.Equal(b, transport, got)
	}
	tb.eval(b, benchPingsJS(transport, browserWarmup, unreliable), nil)
	return tb
}

// benchJoinJS runs in every new document of a BenchmarkBrowserJoin tab
// before the page's scripts: once the demo is there (its module runs
// before DOMContentLoaded) it signs in as a guest and joins the arena,
// noting performance.now() (ms since the navigation started) at each
// step.
const benchJoinJS = `window.benchJoin = {};
document.addEventListener("DOMContentLoaded", async () => {
  const m = window.benchJoin;
  m.dcl = performance.now();
  try {
    await window.demo.guest("joiner");
    m.connected = performance.now();
    await window.demo.joinArena();
    if (window.demo.state().room === null) throw new Error("joinArena resolved with no room");
    m.joined = performance.now();
    m.transport = window.demo.state().transport;
  } catch (e) {
    m.error = String(e);
  }
});`

// joinMarks is window.benchJoin.
type joinMarks struct {
	DCL       float64 `json:"dcl"`
	Connected float64 `json:"connected"`
	Joined    float64 `json:"joined"`
	Transport string  `json:"transport"`
	Error     string  `json:"error"`
}

// BenchmarkBrowserJoin measures, per forced transport, how long a new
// visitor (a fresh browser context: no cache, no storage) takes from the
// start of the navigation to the demo page to being in the arena as a
// guest: page and scripts loaded, guest token, session connected, lists
// loaded, room joined. ns/op includes opening and closing the tab; the
// metrics are the page's own clock.
func BenchmarkBrowserJoin(b *testing.B) {
	srv := demoServer(b, benchEngine)
	br := startBrowser(b)
	for _, transport := range []string{"webrtc", "websocket", "longpoll"} {
		b.Run(transport, func(b *testing.B) {
			var joined, connected, dcl []float64
			for i := range b.N {
				b.StopTimer()
				tb, closeTab := openBenchTab(b, br, fmt.Sprintf("join-%s-%d", transport, i))
				demoDo(b, tb, "install the join script", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: benchJoinJS})
					return err
				}))
				b.StartTimer()
				tb.navigate(b, srv.HTTPURL()+"/?transport="+transport)
				tb.waitJS(b, `window.benchJoin && (window.benchJoin.joined || window.benchJoin.error)`, demoStep)
				b.StopTimer()
				var m joinMarks
				tb.eval(b, `window.benchJoin`, &m)
				require.Empty(b, m.Error)
				require.Equal(b, transport, m.Transport)
				tb.requireNoProblems(b)
				closeTab()
				joined = append(joined, m.Joined)
				connected = append(connected, m.Connected)
				dcl = append(dcl, m.DCL)
				b.StartTimer()
			}
			b.StopTimer()
			med := func(v []float64) float64 { return percentileMs(slices.Sorted(slices.Values(v)), 0.5) }
			b.ReportMetric(med(joined), "join-ms")
			b.ReportMetric(med(connected), "connected-ms")
			b.ReportMetric(med(dcl), "loaded-ms")
		})
	}
}

// openBenchTab is newTab for a tab that a benchmark closes itself (many
// are opened in one run): the returned func closes it and disposes its
// browser context.
func openBenchTab(b *testing.B, br *browser, name string) (*tab, func()) {
	tb := &tab{name: name, requests: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(br.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.record))
	tb.ctx = ctx
	stop := time.AfterFunc(browserStartTimeout, cancel)
	err := chromedp.Do(ctx)
	stop.Stop()
	require.NoError(b, err, "opening tab %q", name)
	return tb, cancel
}
