package ws

import (
	"testing"
	"time"

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

// Both ends read the kernel's RTT of the socket under the WebSocket
// through RTT, not Stats (a scrape of every session's Stats makes no
// system call).
func TestRTTNotInStats(t *testing.T) {
	s := startServer(t, netcode.Env{}, Config{})
	c, sc := s.pair(t, Config{})
	conntest.Exchange(t, c, sc, 10*time.Second)
	conntest.CheckRTTer(t, c, 10*time.Second)
	conntest.CheckRTTer(t, sc, 10*time.Second)
}
