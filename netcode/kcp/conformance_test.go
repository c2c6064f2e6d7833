package kcp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

// pair dials a fresh listener on loopback and returns both ends.
func pair(t *testing.T, cfg Config) (*Conn, *Conn, *Listener) {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, l.Addr().String(), cfg)
	require.NoError(t, err)
	s, err := l.AcceptKCP()
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.Close(netcode.CodeOK, "")
		_ = s.Close(netcode.CodeOK, "")
		require.NoError(t, l.Shutdown(context.Background()))
	})
	return c, s, l
}

func TestConformanceLoopback(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s, _ := pair(t, Config{})
		return c, s
	}, conntest.Options{})
}

func TestConformanceLoopbackFEC(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s, _ := pair(t, Config{Profile: ProfileFEC})
		return c, s
	}, conntest.Options{})
}
