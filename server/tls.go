package server

import (
	"crypto/tls"
	"net"
)

// httpsConfig is the HTTP server's copy of the server's TLS
// configuration: TLS 1.3 at least, and HTTP/1.1 as the one application
// protocol (besides any the configuration brings, such as ACME's
// "acme-tls/1"): the WebSocket upgrade hijacks an HTTP/1.1 connection,
// and a browser that negotiated HTTP/2 could try WebSocket over it.
func httpsConfig(c *tls.Config) *tls.Config {
	c = c.Clone()
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS13
	}
	protos := []string{"http/1.1"}
	for _, p := range c.NextProtos {
		if p != "h2" && p != "http/1.1" {
			protos = append(protos, p)
		}
	}
	c.NextProtos = protos
	return c
}

// exposedInClear reports whether the HTTP server or the TCP transport
// listens beyond loopback without TLS.
func (s *Server) exposedInClear() bool {
	addrs := []net.Addr{}
	if s.httpL != nil {
		addrs = append(addrs, s.httpL.Addr())
	}
	for _, l := range s.lns {
		if l.name == "tcp" {
			addrs = append(addrs, l.l.Addr())
		}
	}
	for _, a := range addrs {
		if ta, ok := a.(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
			return true
		}
	}
	return false
}
