package client

import (
	"crypto/tls"
	"net/http"
	"strings"
	"time"
)

// API is the HTTP API of one server: register, login, guest tokens.
type API struct {
	// Base is the server's HTTP base URL: "https://game.example.com:7780"
	// ("http://" only on loopback or behind a TLS-terminating proxy:
	// passwords and tokens cross it in clear).
	Base string
	// HTTP sends the requests (nil: http.DefaultClient, which verifies an
	// https:// server against the system roots). HTTPClient builds one
	// that trusts a CA file or a development certificate.
	HTTP *http.Client
}

func (a API) url(path string) string { return strings.TrimRight(a.Base, "/") + path }

// HTTPClient returns an HTTP client that verifies https:// servers with
// cfg (netcode/tlsconf.Client builds it from a CA file, or the insecure
// development mode), for API.HTTP, the long-poll and WebRTC dialers'
// HTTPClient and PostJSON/DoJSON. A nil cfg trusts the system roots.
func HTTPClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}}
}
