package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// A real Prometheus server (Debian's package, which .ci/run installs)
// scrapes the admin listener with the bearer token, and a query through
// its HTTP API returns the tickwire series with the value the server had.
func TestPrometheusScrapesAdminListener(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	require.NoError(t, err, "the prometheus binary is needed for this test: apt-get install prometheus (.ci/run installs it)")

	ctx := ctxT(t)
	srv := startAdmin(t, server.Config{Transports: []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}})
	token, err := client.GuestToken(ctx, srv.HTTPURL(), "ada")
	require.NoError(t, err)
	for range 2 {
		c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: token})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() }) // the test's end: the server closes it anyway
	}

	promURL := startPrometheus(t, bin, srv.AdminAddr(), adminToken)
	// The target is scraped (up == 1) and tickwire_sessions is 2.
	require.Eventually(t, func() bool {
		v, ok := promQuery(t, promURL, `up{job="tickwire"}`)
		return ok && v == "1"
	}, 20*time.Second, 200*time.Millisecond, "Prometheus never scraped the admin listener successfully")
	require.Eventually(t, func() bool {
		v, ok := promQuery(t, promURL, `tickwire_sessions{job="tickwire"}`)
		return ok && v == "2"
	}, 20*time.Second, 200*time.Millisecond, "tickwire_sessions never reached 2 in Prometheus")
	v, ok := promQuery(t, promURL, `tickwire_transport_sessions{job="tickwire",transport="tcp"}`)
	require.True(t, ok)
	require.Equal(t, "2", v)
	require.Zero(t, scrape(t, srv).value("tickwire_admin_refused_total", "reason", "wrong_token"), "Prometheus presented the right token")
}

// startPrometheus runs bin with a temporary configuration that scrapes
// target every second with the bearer token, and its storage in a
// temporary directory; it returns the base URL of its HTTP API once it is
// ready, and stops it in t.Cleanup.
func startPrometheus(t *testing.T, bin, target, token string) string {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tickwire
    authorization:
      type: Bearer
      credentials_file: %s
    static_configs:
      - targets: [%q]
`, tokenFile, target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))
	addr := freePort(t)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	require.NoError(t, err)
	cmd := exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile // files: no copying goroutines
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited already: Wait reports that
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill() // did not stop in time
			<-exited
		}
		_ = logFile.Close() // written by the exited child only
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name()) // best effort, for the failure's log
			t.Logf("prometheus log:\n%s", b)
		}
	})
	base := "http://" + addr
	require.Eventually(t, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true // reported below
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond, "prometheus never became ready")
	select {
	case err := <-exited:
		exited <- err
		b, _ := os.ReadFile(logFile.Name()) // best effort, for the failure message
		t.Fatalf("prometheus exited: %v\n%s", err, b)
	default:
	}
	return base
}

// freePort returns a loopback address whose port was free a moment ago
// (Prometheus does not report the port it bound for :0).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// promQuery runs an instant query through Prometheus' HTTP API and
// returns the value of its only series; ok is false when the answer has
// no series yet.
func promQuery(t *testing.T, base, query string) (value string, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, "success", out.Status)
	require.Equal(t, "vector", out.Data.ResultType)
	if len(out.Data.Result) == 0 {
		return "", false
	}
	require.Len(t, out.Data.Result, 1, "one series for %s", query)
	s, isString := out.Data.Result[0].Value[1].(string)
	require.True(t, isString)
	return s, true
}
