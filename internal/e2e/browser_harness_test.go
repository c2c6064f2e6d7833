package e2e

// The browser harness: a real headless Chromium driven over the DevTools
// protocol (github.com/chromedp/chromedp), for the tests and benchmarks
// that check what a web page sees of tickwire.
//
//	b := startBrowser(t)                   // one Chromium, closed when t ends
//	tab := b.newTab(t, "alice")            // an isolated user: own cookies, storage, cache
//	tab.navigate(t, srv.HTTPURL()+"/healthz")
//	var n int
//	tab.eval(t, `(async () => 1 + 1)()`, &n) // promises are awaited
//	tab.waitJS(t, `window.ready === true`, wait)
//	tab.requireNoProblems(t)               // no console error, exception, failed request
//
// Every tab records the console errors, uncaught exceptions, browser-log
// errors and failed requests of its pages; requireNoProblems fails the test
// on any. When a test fails, each of its open tabs is photographed into a
// directory (t.TempDir(), or TICKWIRE_BROWSER_ARTIFACTS to keep them) and
// everything it recorded is logged.
//
// Chromium must be installed: Debian's `chromium` package
// (/usr/lib/chromium/chromium), or the binary TICKWIRE_CHROMIUM names. The
// tests fail without it, they never skip.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/ws"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// Environment knobs of the browser tests.
const (
	// chromiumEnv names the Chromium (or Chrome) binary to drive instead
	// of Debian's.
	chromiumEnv = "TICKWIRE_CHROMIUM"
	// artifactsEnv names a directory that keeps the screenshots of failed
	// tests (default: the test's t.TempDir(), removed when the test ends).
	artifactsEnv = "TICKWIRE_BROWSER_ARTIFACTS"
)

// chromiumCandidates are the binaries tried, in order, when chromiumEnv is
// unset. Debian's /usr/bin/chromium is a shell wrapper that sources
// /etc/chromium.d (it adds --enable-gpu-rasterization, extension flags and
// a /dev/shm probe) before it execs the real binary; the harness runs the
// real binary directly so that its flags are exactly browserFlags.
var chromiumCandidates = []string{
	"/usr/lib/chromium/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
}

// chromiumPath returns the browser binary to start, and fails the test
// (never skips it) when there is none.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		abs, err := exec.LookPath(p)
		require.NoError(t, err, "%s=%q is not an executable; unset it to use Debian's chromium (apt-get install chromium)", chromiumEnv, p)
		return abs
	}
	for _, c := range chromiumCandidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	require.FailNow(t, "Chromium not found",
		"the browser tests need a headless Chromium: install Debian's package (apt-get install chromium), "+
			"or set %s to a Chromium or Chrome binary", chromiumEnv)
	return ""
}

// browserFlag is one command-line switch of the browser and why it is
// there.
type browserFlag struct {
	name  string
	value any // true for a bare switch
	why   string
}

// browserFlags start Chromium for the tests. chromedp adds
// --remote-debugging-pipe (the protocol runs over file descriptors 3 and
// 4, no port) and a fresh --user-data-dir per browser, removed when it
// stops.
var browserFlags = []browserFlag{
	{"headless", true, "no display on the machine, CI or a developer's"},
	{"no-sandbox", true, "CI runs as root, where Chromium refuses to start with its sandbox (chromedp adds it for root anyway)"},
	{"disable-gpu", true, "no GPU: no GPU process, software compositing"},
	{"disable-dev-shm-usage", true, "shared memory in /tmp: a container's /dev/shm can be 64 MiB and crash the renderer"},
	{"no-first-run", true, "no first-run tasks or welcome page"},
	{"no-default-browser-check", true, "no default-browser prompt"},
	{"disable-background-networking", true, "the network is closed: no variations, no safe-browsing or other background fetches"},
	{"disable-component-update", true, "no component downloads (the network is closed)"},
	{"disable-sync", true, "no sync service"},
	{"disable-quic", true, "no QUIC probes: HTTP to the test server stays plain TCP"},
	{"disable-default-apps", true, "no default apps to install"},
	{"disable-extensions", true, "no extensions"},
	{"disable-breakpad", true, "no crash reporter"},
	{"disable-client-side-phishing-detection", true, "no phishing model download"},
	{"disable-domain-reliability", true, "no reliability beacons"},
	{"metrics-recording-only", true, "no metrics upload"},
	{"password-store", "basic", "no system keyring"},
	{"use-mock-keychain", true, "no system keyring"},
	{"mute-audio", true, "no sound device"},
	{"hide-scrollbars", true, "stable screenshots"},
	{"disable-background-timer-throttling", true, "timers of a page in a background tab keep their rate: several users share one browser"},
	{"disable-backgrounding-occluded-windows", true, "an occluded tab keeps running"},
	{"disable-renderer-backgrounding", true, "a background tab's renderer keeps its priority"},
	{"disable-ipc-flooding-protection", true, "a page that polls fast is not throttled"},
	{"disable-hang-monitor", true, "no 'page unresponsive' handling while a test holds a page"},
	// The two WebRTC flags below are needed only where the machine has no
	// interface but loopback (a bare network namespace). With a routable
	// interface Chromium offers that interface's address (or an .local
	// name), its checks to the server's 127.0.0.1 candidate leave from
	// 127.0.0.1, and the server pairs with that peer-reflexive address;
	// with loopback alone, each flag missing leaves the data channels
	// closed until the deadline (checked with unshare -n, Chromium 156).
	{"allow-loopback-in-peer-connection", true,
		"WebRTC may use the loopback interface: without it, on a loopback-only host, Chromium has no network to gather on"},
	{"disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,WebRtcHideLocalIpsWithMdns",
		"Translate, OptimizationHints, media router: background fetches and service discovery on a closed network; " +
			"WebRtcHideLocalIpsWithMdns: host candidates keep their IPs instead of .local names, which a loopback-only " +
			"host cannot announce (no multicast interface), and failures name real addresses"},
	{"window-size", "1280,800", "screenshots of a fixed size"},
}

// browserConfig is what startBrowser's options change.
type browserConfig struct {
	extra []browserFlag
}

// browserOption changes how startBrowser starts Chromium.
type browserOption func(*browserConfig)

// withFlag adds a flag, or replaces one of browserFlags.
func withFlag(name string, value any) browserOption {
	return func(c *browserConfig) { c.extra = append(c.extra, browserFlag{name: name, value: value}) }
}

// withWebRTCBlocked makes the browser's WebRTC unable to reach anything,
// as on a network that blocks UDP: the policy allows only UDP through a
// proxy and there is none, so no candidate pair ever forms. Signaling
// (the HTTP offer) still succeeds; the data channels never open. This is
// the "WebRTC made to fail" of the fallback tests.
func withWebRTCBlocked() browserOption {
	return withFlag("webrtc-ip-handling-policy", "disable_non_proxied_udp")
}

// browser is one headless Chromium process, closed when the test that
// started it ends.
type browser struct {
	ctx    context.Context // the browser's own context: its first tab
	output *lockedBuffer   // Chromium's stdout and stderr
}

// browserStartTimeout bounds the start of the process and the opening of
// a tab.
const browserStartTimeout = 30 * time.Second

// startBrowser starts a headless Chromium for t, with browserFlags as
// changed by opts, and closes it (gracefully, then by force) when t ends.
func startBrowser(t testing.TB, opts ...browserOption) *browser {
	t.Helper()
	var cfg browserConfig
	for _, o := range opts {
		o(&cfg)
	}
	out := &lockedBuffer{}
	alloc := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.CombinedOutput(out),
	}
	for _, f := range append(append([]browserFlag(nil), browserFlags...), cfg.extra...) {
		alloc = append(alloc, chromedp.Flag(f.name, f.value)) // a later one replaces an earlier one
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx, output: out}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing the browser: %v", err)
		}
		cancelBrowser()
		cancelAlloc() // waits for the process and removes its user-data-dir
		if t.Failed() {
			t.Logf("chromium output (dbus lines left out):\n%s", withoutDBus(out.tail(16<<10)))
		}
	})
	// The first Run starts the process; it must not carry a deadline (the
	// browser would die with it), so the bound cancels it instead.
	stop := time.AfterFunc(browserStartTimeout, cancelBrowser)
	err := chromedp.Do(ctx)
	stop.Stop()
	require.NoError(t, err, "starting %s (output: %s)", chromiumPath(t), out.tail(4<<10))
	return b
}

// pageEvent is one thing a tab recorded.
type pageEvent struct {
	Kind string // "console.<type>", "exception", "log.<level>", "request", "http", "crash"
	Text string
	URL  string
	// Problem marks what requireNoProblems refuses: console.error and
	// console.assert, uncaught exceptions and unhandled rejections,
	// browser-log errors, failed requests (not ones the page aborted) and
	// a crashed renderer.
	Problem bool
}

func (e pageEvent) String() string {
	s := e.Kind + ": " + e.Text
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	return s
}

// tab is one page in its own browser context: a simulated user with its
// own cookies, storage and cache, sharing only the process with the other
// tabs. A tab is driven from one goroutine at a time.
type tab struct {
	name string
	ctx  context.Context

	mu       sync.Mutex
	events   []pageEvent
	requests map[network.RequestID]string // id → URL, for failed requests
	ignore   []*regexp.Regexp
}

// newTab opens an isolated tab (chromedp.WithNewBrowserContext) that
// records its pages' events from the start. It is closed, its browser
// context disposed, when t ends; if t failed, its screenshot is saved
// and its events are logged first.
func (b *browser) newTab(t testing.TB, name string) *tab {
	t.Helper()
	tb := &tab{name: name, requests: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.record))
	tb.ctx = ctx
	t.Cleanup(func() {
		if t.Failed() {
			tb.dumpOnFailure(t)
		}
		cancel()
	})
	stop := time.AfterFunc(browserStartTimeout, cancel)
	err := chromedp.Do(ctx) // creates the browser context and the target
	stop.Stop()
	require.NoError(t, err, "opening tab %q", name)
	return tb
}

// record runs on chromedp's reader goroutine for every event of the tab:
// it must be quick and must not call the browser.
func (tb *tab) record(ev any) {
	var e pageEvent
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		e = pageEvent{Kind: "console." + string(ev.Type), Text: remoteText(ev.Args),
			Problem: ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert}
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			e.URL = fmt.Sprintf("%s:%d", st.CallFrames[0].URL, st.CallFrames[0].LineNumber+1)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		e = pageEvent{Kind: "exception", Text: d.Text, URL: d.URL, Problem: true}
		if d.Exception != nil && d.Exception.Description != "" {
			e.Text += " " + d.Exception.Description
		} else if d.Exception != nil {
			e.Text += " " + remoteText([]*runtime.RemoteObject{d.Exception})
		}
	case *log.EventEntryAdded:
		en := ev.Entry
		e = pageEvent{Kind: "log." + string(en.Level), Text: string(en.Source) + ": " + en.Text, URL: en.URL,
			Problem: en.Level == log.EntryLevelError}
	case *network.EventRequestWillBeSent:
		tb.mu.Lock()
		tb.requests[ev.RequestID] = ev.Request.URL
		tb.mu.Unlock()
		return
	case *network.EventLoadingFailed:
		tb.mu.Lock()
		url := tb.requests[ev.RequestID]
		tb.mu.Unlock()
		text := ev.ErrorText
		if ev.BlockedReason != "" {
			text += " blocked: " + string(ev.BlockedReason)
		}
		if ev.CorsErrorStatus != nil {
			text += " cors: " + string(ev.CorsErrorStatus.CorsError)
		}
		if ev.Canceled {
			text += " (canceled by the page)"
		}
		e = pageEvent{Kind: "request", Text: string(ev.Type) + " " + text, URL: url, Problem: !ev.Canceled}
	case *network.EventResponseReceived:
		if ev.Response == nil || ev.Response.Status < 400 {
			return
		}
		// Recorded, not a problem by itself: a test may ask for a refusal.
		// Chromium also logs an unexpected one as a log.error.
		e = pageEvent{Kind: "http", Text: fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.StatusText), URL: ev.Response.URL}
	case *inspector.EventTargetCrashed:
		e = pageEvent{Kind: "crash", Text: "the renderer crashed", Problem: true}
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if e.Problem {
		for _, re := range tb.ignore {
			if re.MatchString(e.String()) {
				e.Problem = false
				break
			}
		}
	}
	tb.events = append(tb.events, e)
}

// remoteText renders console arguments as DevTools prints them, roughly.
func remoteText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// ignoreProblems makes requireNoProblems accept events whose String()
// matches one of the patterns (a test that provokes an error on purpose).
// Only events recorded after the call are affected.
func (tb *tab) ignoreProblems(patterns ...string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range patterns {
		tb.ignore = append(tb.ignore, regexp.MustCompile(p))
	}
}

// faviconNotFound matches the one error Chromium reports by itself: a
// top-level page without <link rel="icon"> makes it fetch /favicon.ico,
// and the 404 is logged as "Failed to load resource" (log.error, source
// network). Pages of our own (the demo) declare an icon instead; tests on
// API pages such as /healthz ignore it.
const faviconNotFound = `404.*/favicon\.ico\)$`

// allEvents returns a copy of everything the tab recorded so far.
func (tb *tab) allEvents() []pageEvent {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]pageEvent(nil), tb.events...)
}

// problems returns the recorded events that requireNoProblems refuses.
func (tb *tab) problems() []pageEvent {
	var out []pageEvent
	for _, e := range tb.allEvents() {
		if e.Problem {
			out = append(out, e)
		}
	}
	return out
}

// requireNoProblems fails the test if the tab recorded any console error,
// uncaught exception, browser-log error, failed request or crash.
func (tb *tab) requireNoProblems(t testing.TB) {
	t.Helper()
	if p := tb.problems(); len(p) > 0 {
		lines := make([]string, len(p))
		for i, e := range p {
			lines[i] = e.String()
		}
		require.FailNow(t, "the page reported problems", "tab %q:\n%s", tb.name, strings.Join(lines, "\n"))
	}
}

// actionTimeout bounds one navigate or eval.
const actionTimeout = wait

// navigate loads url and waits for its load event.
func (tb *tab) navigate(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)), "tab %q: navigate to %s", tb.name, url)
}

// evalErr evaluates a JavaScript expression in the page, awaits it if it
// is a promise, and decodes its JSON value into out (nil: ignore it). A
// thrown exception or a rejected promise is an error (*chromedp.ExceptionError).
// It gives up after timeout.
func (tb *tab) evalErr(js string, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		raw = []byte("null") // undefined
	}
	return json.Unmarshal(raw, out)
}

// eval is evalErr that fails the test on an error, bounded by the
// harness's action timeout. The error names the tab and the script's
// exception.
func (tb *tab) eval(t testing.TB, js string, out any) {
	t.Helper()
	require.NoError(t, tb.evalErr(js, out, actionTimeout), "tab %q: evaluating:\n%s", tb.name, js)
}

// pollInterval is the pause between two evaluations of waitJS.
const pollInterval = 20 * time.Millisecond

// waitJS evaluates expr (awaited if a promise) until it is truthy, and
// fails the test with its last value or error when timeout passes first.
func (tb *tab) waitJS(t testing.TB, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	js := `(async () => { const v = await (` + expr + `); return {ok: !!v, v: String(v)}; })()`
	var last struct {
		OK bool   `json:"ok"`
		V  string `json:"v"`
	}
	var lastErr error
	for {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		lastErr = tb.evalErr(js, &last, min(left, actionTimeout))
		if lastErr == nil && last.OK {
			return
		}
		select {
		case <-time.After(min(pollInterval, max(time.Until(deadline), 0))):
		case <-tb.ctx.Done():
			require.FailNow(t, "tab closed", "tab %q while waiting for %s", tb.name, expr)
		}
	}
	require.FailNow(t, "condition not met", "tab %q: %s still false after %v (last value %q, error %v)",
		tb.name, expr, timeout, last.V, lastErr)
}

// waitEvent waits until the tab has recorded an event that match accepts
// (what names it in the failure message), and returns the first such.
func (tb *tab) waitEvent(t testing.TB, what string, match func(pageEvent) bool, timeout time.Duration) pageEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if i := slices.IndexFunc(tb.allEvents(), match); i >= 0 {
			return tb.allEvents()[i]
		}
		if !time.Now().Before(deadline) {
			require.FailNow(t, "event not seen", "tab %q: no %s within %v; recorded: %v", tb.name, what, timeout, tb.allEvents())
		}
		select {
		case <-time.After(pollInterval):
		case <-tb.ctx.Done():
			require.FailNow(t, "tab closed", "tab %q while waiting for %s", tb.name, what)
		}
	}
}

// screenshot saves a PNG of the tab's viewport to path.
func (tb *tab) screenshot(path string) error {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// artifactDir is where a failed test's screenshots go.
func artifactDir(t testing.TB) string {
	if d := os.Getenv(artifactsEnv); d != "" {
		d = filepath.Join(d, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	return t.TempDir()
}

// dumpOnFailure saves the tab's screenshot and logs what it recorded.
func (tb *tab) dumpOnFailure(t testing.TB) {
	path := filepath.Join(artifactDir(t), "tab-"+tb.name+".png")
	if err := tb.screenshot(path); err != nil {
		t.Logf("tab %q: no screenshot: %v", tb.name, err)
	} else {
		t.Logf("tab %q: screenshot %s", tb.name, path)
	}
	var loc string
	if err := tb.evalErr(`location.href`, &loc, 2*time.Second); err == nil {
		t.Logf("tab %q: at %s", tb.name, loc)
	}
	for _, e := range tb.allEvents() {
		t.Logf("tab %q: %s", tb.name, e)
	}
}

// withoutDBus drops the lines Chromium prints on every start on a
// machine without a D-Bus daemon (CI, containers): "Failed to connect to
// the bus" and "Failed to call method: org.freedesktop...". They are
// harmless and hide the lines that matter.
func withoutDBus(s string) string {
	lines := strings.Split(s, "\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool {
		return strings.Contains(l, ":ERROR:dbus/")
	}), "\n")
}

// lockedBuffer collects the browser's output from its reader goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 1<<20 { // keep the last MiB
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-(512<<10):]...)
	}
	return len(p), nil
}

// tail returns at most n of the last bytes written.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > n {
		return string(b.buf[len(b.buf)-n:])
	}
	return string(b.buf)
}

// The harness sees what a page does wrong, so that requireNoProblems
// means something: console.error, an uncaught exception, an unhandled
// rejection, a request that failed, a refused WebSocket; and it
// photographs a tab.
func TestBrowserHarnessRecordsProblems(t *testing.T) {
	srv := servertest.Start(t, server.Config{Transports: []netcode.Transport{&ws.Transport{}}})
	b := startBrowser(t)
	tab := b.newTab(t, "troubled")
	tab.ignoreProblems(faviconNotFound)
	tab.navigate(t, srv.HTTPURL()+"/healthz")
	require.Empty(t, tab.problems(), "a fresh page has none")

	closed := "http://" + closedTCPAddr(t)
	tab.eval(t, `(async () => {
		console.log("fine");
		console.error("an error", 42);
		setTimeout(() => { throw new Error("uncaught boom"); }, 0);
		Promise.reject(new Error("unhandled rejection"));
		await fetch("`+closed+`/x").catch(() => {});
		new WebSocket("ws://" + location.host + "/no-such-route");
	})()`, nil)
	want := []struct{ kind, text string }{
		{"console.error", "an error 42"},
		{"exception", "uncaught boom"},
		{"exception", "unhandled rejection"},
		{"request", "ERR_CONNECTION_REFUSED"},
		{"log.error", "WebSocket connection to"},
	}
	// Page state that changes later is polled for, not slept on.
	tab.eval(t, `window.later = 0; setTimeout(() => { window.later = 1; }, 50)`, nil)
	tab.waitJS(t, `window.later === 1`, wait)
	tab.waitJS(t, `new Promise((res) => setTimeout(() => res(true), 10))`, wait) // awaited

	for _, w := range want {
		tab.waitEvent(t, w.kind+" "+w.text, func(e pageEvent) bool {
			return e.Problem && e.Kind == w.kind && strings.Contains(e.Text, w.text)
		}, wait)
	}
	require.True(t, slices.ContainsFunc(tab.allEvents(), func(e pageEvent) bool {
		return e.Kind == "console.log" && e.Text == "fine" && !e.Problem
	}), "console.log is recorded, not a problem")

	png := filepath.Join(t.TempDir(), "shot.png")
	require.NoError(t, tab.screenshot(png))
	data, err := os.ReadFile(png)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "\x89PNG"), "a PNG")

	for _, e := range tab.allEvents() {
		t.Logf("%s (problem %v)", e, e.Problem)
	}
}

// closedTCPAddr is a loopback address where nothing listens.
func closedTCPAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// Tabs are separate users: what one page stores (cookies, localStorage)
// the other does not see, on the same origin in the same browser.
func TestBrowserTabsAreIsolated(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	b := startBrowser(t)
	alice, bob := b.newTab(t, "alice"), b.newTab(t, "bob")
	for _, tb := range []*tab{alice, bob} {
		tb.ignoreProblems(faviconNotFound)
		tb.navigate(t, srv.HTTPURL()+"/healthz")
	}
	alice.eval(t, `localStorage.setItem("who", "alice"); document.cookie = "who=alice"`, nil)
	var got struct {
		Stored *string `json:"stored"`
		Cookie string  `json:"cookie"`
	}
	alice.eval(t, `({stored: localStorage.getItem("who"), cookie: document.cookie})`, &got)
	require.Equal(t, "alice", *got.Stored)
	require.Equal(t, "who=alice", got.Cookie)
	bob.eval(t, `({stored: localStorage.getItem("who"), cookie: document.cookie})`, &got)
	require.Nil(t, got.Stored, "bob does not see alice's storage")
	require.Empty(t, got.Cookie, "nor her cookies")
	alice.requireNoProblems(t)
	bob.requireNoProblems(t)
}
