package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ClientConfig says how a client verifies servers. The zero value
// trusts the system's roots, as a browser does.
type ClientConfig struct {
	// CAFile is a PEM file of certificates to trust instead of the
	// system roots: a private CA, or a server's own certificate (the
	// self-signed one in the server's data directory), which pins it.
	CAFile string
	// InsecureSkipVerify accepts any certificate: the connection is
	// encrypted but anyone on the path can pose as the server.
	// Development only; browsers have no such switch.
	InsecureSkipVerify bool
	// ServerName overrides the name verified (default: the host the
	// client dials).
	ServerName string
}

// Client returns the *tls.Config for c: TLS 1.3 at least, verifying the
// server against CAFile or the system roots unless InsecureSkipVerify.
// Dialers fill ServerName from the address they dial when it is empty.
func Client(c ClientConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: c.ServerName}
	if c.InsecureSkipVerify {
		if c.CAFile != "" {
			return nil, fmt.Errorf("%w: a CA file and insecure mode exclude each other", ErrBadConfig)
		}
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrBadConfig, c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
