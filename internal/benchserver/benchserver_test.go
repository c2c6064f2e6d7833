package benchserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStartServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, prod := range []bool{false, true} {
		srv, err := Start(ctx, Config{
			KCPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			DataDir: t.TempDir(), FastPasswords: true, ProductionLimits: prod,
		})
		require.NoError(t, err)
		require.NotEmpty(t, srv.Addr("kcp"))
		require.NotEmpty(t, srv.Addr("tcp"))
		for _, name := range []string{"ws", "longpoll", "webrtc"} {
			require.NotEmpty(t, srv.Addr(name), "%s is served", name)
		}
		require.Contains(t, srv.Addr("webrtc"), "127.0.0.1:", "WebRTC's UDP port defaults to a free loopback port")
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.HTTPAddr()+"/v1/auth/guest", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Less(t, resp.StatusCode, 500)
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, srv.Shutdown(ctx), "idempotent")
	}
}

func TestStartRejectsABadAddress(t *testing.T) {
	_, err := Start(context.Background(), Config{KCPAddr: "127.0.0.1:-1", DataDir: t.TempDir()})
	require.Error(t, err)
}
