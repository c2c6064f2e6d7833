package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/tcp"
)

func TestDialUnknownTransport(t *testing.T) {
	_, err := client.Dial(context.Background(), client.Options{Transport: "carrier-pigeon", Addr: "127.0.0.1:1"})
	assert.ErrorIs(t, err, client.ErrBadTransport)
}

// A server that accepts but never answers Hello: Dial gives up when its
// context ends and leaves nothing running.
func TestDialSilentServerTimesOut(t *testing.T) {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	require.NoError(t, err)
	accepted := make(chan netcode.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	defer func() {
		require.NoError(t, l.Close())
		for c := range accepted {
			_ = c.Close(netcode.CodeOK, "test over")
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = client.Dial(ctx, client.Options{Transport: client.TransportTCP, Addr: l.Addr().String(), Token: "t"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestGuestTokenErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/coded/v1/auth/guest":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"login_rate_limited","code":204,"message":"slow down"}`))
		case "/plain/v1/auth/guest":
			http.Error(w, "gateway trouble", http.StatusBadGateway)
		case "/empty/v1/auth/guest":
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	_, err := client.GuestToken(ctx, srv.URL+"/coded", "x")
	var ce *netcode.CodedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, netcode.CodeLoginRateLimited, ce.Code)
	assert.Equal(t, "slow down", ce.Msg)

	_, err = client.GuestToken(ctx, srv.URL+"/plain", "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "502")
	assert.NotErrorAs(t, err, &ce)

	_, err = client.GuestToken(ctx, srv.URL+"/empty/", "x")
	assert.ErrorContains(t, err, "empty token")
}
