package ws

import (
	"testing"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

func TestConformanceLoopback(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		s := startServer(t, netcode.Env{}, Config{})
		return s.pair(t, Config{})
	}, conntest.Options{})
}

func TestConformanceSmallLimit(t *testing.T) {
	cfg := Config{MaxMessageSize: 5000}
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		s := startServer(t, netcode.Env{}, cfg)
		return s.pair(t, cfg)
	}, conntest.Options{MaxMessageSize: 5000})
}
