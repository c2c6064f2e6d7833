package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The self-signed certificate's files inside Config.Dir.
const (
	SelfSignedCertFile = "tls-self-signed.crt"
	SelfSignedKeyFile  = "tls-self-signed.key"
)

const (
	// selfSignedLifetime is how long a generated certificate is valid.
	selfSignedLifetime = 365 * 24 * time.Hour
	// selfSignedRenewBefore: a stored certificate closer than this to its
	// end is replaced at start.
	selfSignedRenewBefore = 30 * 24 * time.Hour
)

// defaultHosts are always in a self-signed certificate.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// loadOrCreateSelfSigned returns the certificate stored in dir when it
// covers every host and has more than selfSignedRenewBefore left, else
// generates one (for the default hosts and hosts) and stores it.
func loadOrCreateSelfSigned(dir string, hosts []string, now time.Time, log *slog.Logger) (*tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, SelfSignedCertFile), filepath.Join(dir, SelfSignedKeyFile)
	want := append(append([]string(nil), defaultHosts...), hosts...)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		why := stale(cert.Leaf, want, now)
		if why == "" {
			return &cert, certPath, nil
		}
		log.Warn("tls: replacing the stored self-signed certificate: clients that trusted it must trust the new one",
			"file", certPath, "why", why)
	case errors.Is(err, os.ErrNotExist):
	default:
		log.Warn("tls: the stored self-signed certificate is unreadable; generating a new one", "file", certPath, "err", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("tlsconf: %w", err)
	}
	certPEM, keyPEM, err := generateSelfSigned(want, now)
	if err != nil {
		return nil, "", err
	}
	// The key first: a crash between the two writes leaves a pair that
	// does not match, which the next start replaces.
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, "", err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return nil, "", err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, "", fmt.Errorf("tlsconf: generated certificate: %w", err)
	}
	log.Info("tls: generated a self-signed certificate", "file", certPath, "hosts", want, "not_after", cert.Leaf.NotAfter)
	return &cert, certPath, nil
}

// stale says why a stored certificate cannot be kept ("" when it can).
func stale(leaf *x509.Certificate, hosts []string, now time.Time) string {
	if leaf == nil {
		return "no certificate"
	}
	if now.Before(leaf.NotBefore) || now.Add(selfSignedRenewBefore).After(leaf.NotAfter) {
		return fmt.Sprintf("valid from %v until %v", leaf.NotBefore, leaf.NotAfter)
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return "does not cover " + h
		}
	}
	return ""
}

// generateSelfSigned makes an ECDSA P-256 certificate for hosts (DNS
// names and IP addresses), signed by its own key, and returns it and the
// key in PEM.
func generateSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"tickwire development"}, CommonName: "tickwire self-signed"},
		NotBefore:             now.Add(-time.Hour), // a client whose clock is a little behind still accepts it
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFile replaces path with data (through a temporary file and a
// rename, so that a reader never sees half of it).
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil { // narrower than a leftover's
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	return nil
}
