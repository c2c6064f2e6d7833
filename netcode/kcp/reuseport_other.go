//go:build !linux

package kcp

import (
	"errors"
	"net"
)

// reusePortSupported: elsewhere a Listener runs one event loop.
const reusePortSupported = false

func listenReusePort(string) (*net.UDPConn, error) {
	return nil, errors.ErrUnsupported
}
