package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/netcode/tcp"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

func TestDialNeedsADialFunction(t *testing.T) {
	_, err := client.Dial(context.Background(), client.Options{Token: "t"})
	assert.ErrorIs(t, err, client.ErrNoDial)
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
	_, err = client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: l.Addr().String()}.Dial, Token: "t"})
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

// A Handler that blocks holds the reader, and Close waits for it: this is
// how a test that unblocked its Handler only after closing the client hung
// the whole package until the go test timeout. Close returns as soon as
// the Handler does, and no Handler runs after Close has returned.
func TestCloseWaitsForABlockedHandler(t *testing.T) {
	srv := servertest.Start(t, server.Config{Transports: tcpOnly()})
	tok, err := client.GuestToken(ctxT(t, socialWait), srv.HTTPURL(), "blocker")
	require.NoError(t, err)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var closed atomic.Bool
	var lateCalls atomic.Int32
	c, err := client.Dial(ctxT(t, socialWait), client.Options{
		Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: tok, PingInterval: -1,
		Handler: func(client.Message) {
			if closed.Load() {
				lateCalls.Add(1)
			}
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		},
	})
	require.NoError(t, err)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // registered after the server's cleanup: runs before it

	require.NoError(t, c.Send(netcode.Reliable, &frame.Echo{Seq: 1}))
	require.NoError(t, c.Send(netcode.Reliable, &frame.Echo{Seq: 2}))
	select {
	case <-entered:
	case <-time.After(socialWait):
		t.Fatal("the echo never reached the Handler")
	}

	closeDone := make(chan struct{})
	go func() {
		defer close(closeDone)
		assert.NoError(t, c.Close())
		closed.Store(true)
	}()
	select {
	case <-closeDone:
		t.Fatal("Close returned while the Handler was still running")
	case <-c.Done():
		t.Fatal("the reader ended while the Handler was still running")
	case <-time.After(50 * time.Millisecond):
	}
	unblock()
	select {
	case <-closeDone:
	case <-time.After(socialWait):
		t.Fatal("Close did not return after the Handler did")
	}
	assert.ErrorIs(t, c.Err(), client.ErrClosed)
	assert.Zero(t, lateCalls.Load(), "a Handler ran after Close returned")
}

func TestRegisterLoginDial(t *testing.T) {
	srv := servertest.Start(t, server.Config{Transports: tcpOnly(), Accounts: accounts.Config{
		Argon2: accounts.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, // cheap, for tests
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reg, err := client.Register(ctx, srv.HTTPURL(), "grace", "correct horse battery")
	require.NoError(t, err)
	assert.Equal(t, "grace", reg.Username)
	assert.NotEmpty(t, reg.UserID)
	_, err = client.Register(ctx, srv.HTTPURL(), "grace", "another password")
	assert.Equal(t, netcode.CodeUsernameTaken, netcode.CodeOf(err))

	_, err = client.Login(ctx, srv.HTTPURL(), "grace", "wrong password!")
	assert.Equal(t, netcode.CodeInvalidCredentials, netcode.CodeOf(err))
	in, err := client.Login(ctx, srv.HTTPURL(), "grace", "correct horse battery")
	require.NoError(t, err)
	assert.Equal(t, reg.UserID, in.UserID)

	c, err := client.Dial(ctx, client.Options{Dial: tcp.Dialer{Addr: srv.Addr("tcp")}.Dial, Token: in.Token})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, reg.UserID, c.Welcome().UserID)
}

// tcpOnly serves framed TCP alone, on loopback.
func tcpOnly() []netcode.Transport {
	return []netcode.Transport{&tcp.Transport{Addr: servertest.Loopback}}
}
