package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tickwire/tickwire/netcode/tlsconf"
)

// resolveTLS fills s.tlsCA (flag > environment > profile) and s.tls: a
// TLS configuration for an https:// server, verifying against the CA file
// or the system roots, or none at all with --insecure. A CA file or
// --insecure with a plain http:// server is a usage error: it would
// promise a protection the connection does not have.
func (a *app) resolveTLS(s *settings) error {
	ca := a.g.tlsCA
	if ca == "" {
		ca = strings.TrimSpace(a.getenv("TICKCTL_TLS_CA"))
	}
	if ca != "" {
		abs, err := filepath.Abs(ca) // the profile keeps it for later commands run elsewhere
		if err != nil {
			return fmt.Errorf("--tls-ca: %w", err)
		}
		ca = abs
	} else {
		ca = s.profile.TLSCA
	}
	if !strings.HasPrefix(s.http, "https://") {
		if a.g.tlsCA != "" || a.g.insecure {
			return usageErrorf("--tls-ca and --insecure are for an https:// server, and --http is %s", s.http)
		}
		return nil // a CA saved with another server's profile or in the environment does not apply
	}
	if a.g.insecure {
		ca = ""
		fmt.Fprintln(a.stderr, "tickctl: --insecure: the server's certificate is not checked; anyone on the path can pose as it")
	}
	cfg, err := tlsconf.Client(tlsconf.ClientConfig{CAFile: ca, InsecureSkipVerify: a.g.insecure})
	if err != nil {
		return fmt.Errorf("--tls-ca: %w", err)
	}
	s.tlsCA, s.tls = ca, cfg
	return nil
}
