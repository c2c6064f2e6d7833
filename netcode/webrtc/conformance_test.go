package webrtc

import (
	"testing"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/conntest"
)

func TestConformanceLoopback(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s, _ := pair(t, Config{})
		return c, s
	}, conntest.Options{})
}

func TestConformanceSmallMax(t *testing.T) {
	conntest.Run(t, func(t *testing.T) (netcode.Conn, netcode.Conn) {
		c, s, _ := pair(t, Config{MaxMessageSize: 5000})
		return c, s
	}, conntest.Options{MaxMessageSize: 5000})
}
