package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ErrBadConfig is returned by New and Client for an unusable Config.
var ErrBadConfig = errors.New("tlsconf: invalid config")

// Mode says where a server's certificate comes from.
type Mode uint8

const (
	// ModeOff serves plain TCP and HTTP.
	ModeOff Mode = iota
	// ModeFiles reads a certificate chain and its key from PEM files
	// (Config.CertFile, Config.KeyFile); Server.Reload reads them again.
	ModeFiles
	// ModeSelfSigned uses a self-signed ECDSA certificate for localhost,
	// 127.0.0.1, ::1 and Config.Hosts, kept in Config.Dir so that it
	// stays the same across restarts (clients pin it once). Development
	// only: nothing vouches for it but the file.
	ModeSelfSigned
	// ModeACME obtains and renews certificates for Config.Hosts from an
	// ACME CA (Let's Encrypt by default) with autocert, over the
	// TLS-ALPN-01 challenge: the HTTPS listener must be reachable on
	// port 443 of every host named. Certificates are cached in
	// Config.Dir.
	ModeACME
)

var modeNames = [...]string{ModeOff: "off", ModeFiles: "files", ModeSelfSigned: "self-signed", ModeACME: "acme"}

// String is the mode's name: "off", "files", "self-signed" or "acme".
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", m)
}

// Config says how a server gets its certificate. The zero value is
// ModeOff.
type Config struct {
	Mode Mode
	// CertFile and KeyFile (ModeFiles) are PEM files: the certificate
	// chain, leaf first, and its private key.
	CertFile, KeyFile string
	// Hosts are DNS names or IP addresses. ModeSelfSigned: names the
	// certificate covers besides localhost, 127.0.0.1 and ::1. ModeACME:
	// the domains certificates are obtained for (required; any other
	// name a client asks for is refused without contacting the CA).
	Hosts []string
	// Dir (ModeSelfSigned, ModeACME; required) holds the self-signed
	// certificate (SelfSignedCertFile, SelfSignedKeyFile) or autocert's
	// cache. It should be private to the server's user.
	Dir string
	// Email (ModeACME, optional) is given to the CA for notices about the
	// certificates.
	Email string
	// DirectoryURL (ModeACME) is the CA's ACME directory (default Let's
	// Encrypt's production directory).
	DirectoryURL string
	// Logger receives certificate events (default: discard).
	Logger *slog.Logger
	// Now is the clock for certificate validity (default time.Now).
	Now func() time.Time
}

// Server is a server's TLS configuration, built by New.
type Server struct {
	mode     Mode
	cfg      Config
	base     *tls.Config
	cert     atomic.Pointer[tls.Certificate] // ModeFiles, ModeSelfSigned: the certificate served
	certPath string                          // ModeSelfSigned: the stored certificate
	acme     *autocert.Manager
}

// New builds the server's TLS configuration. It returns nil, nil for
// ModeOff.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{mode: cfg.Mode, cfg: cfg}
	s.base = &tls.Config{MinVersion: tls.VersionTLS13}
	switch cfg.Mode {
	case ModeOff:
		return nil, nil
	case ModeFiles:
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, fmt.Errorf("%w: a certificate file needs its key file, and the other way round", ErrBadConfig)
		}
		if err := s.Reload(); err != nil {
			return nil, err
		}
		s.base.GetCertificate = s.getCertificate
	case ModeSelfSigned:
		if cfg.Dir == "" {
			return nil, fmt.Errorf("%w: the self-signed mode needs a directory to keep its certificate in", ErrBadConfig)
		}
		cert, path, err := loadOrCreateSelfSigned(cfg.Dir, cfg.Hosts, cfg.Now(), cfg.Logger)
		if err != nil {
			return nil, err
		}
		s.cert.Store(cert)
		s.certPath = path
		s.base.GetCertificate = s.getCertificate
	case ModeACME:
		if len(cfg.Hosts) == 0 {
			return nil, fmt.Errorf("%w: ACME needs at least one domain", ErrBadConfig)
		}
		if cfg.Dir == "" {
			return nil, fmt.Errorf("%w: ACME needs a cache directory", ErrBadConfig)
		}
		for _, h := range cfg.Hosts {
			if h == "" || strings.ContainsAny(h, "/: ") {
				return nil, fmt.Errorf("%w: ACME domain %q is not a host name", ErrBadConfig, h)
			}
		}
		s.acme = &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(cfg.Dir),
			HostPolicy: autocert.HostWhitelist(cfg.Hosts...),
			Email:      cfg.Email,
		}
		if cfg.DirectoryURL != "" {
			s.acme.Client = &acme.Client{DirectoryURL: cfg.DirectoryURL}
		}
		s.base.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.acme.GetCertificate(ecdsaHello(hello))
		}
		// The TLS-ALPN-01 challenge arrives as a handshake asking for
		// this protocol; GetCertificate answers it.
		s.base.NextProtos = []string{acme.ALPNProto}
	default:
		return nil, fmt.Errorf("%w: unknown mode %d", ErrBadConfig, cfg.Mode)
	}
	return s, nil
}

// Mode is the server's mode.
func (s *Server) Mode() Mode { return s.mode }

// TLSConfig returns a new copy of the configuration, for one listener:
// TLS 1.3 at least, the certificate chosen per handshake (so that Reload
// and ACME renewals apply to connections made after them).
func (s *Server) TLSConfig() *tls.Config { return s.base.Clone() }

// Fingerprint is the SHA-256 of the served certificate (DER), as
// colon-separated upper-case hex pairs (what browsers and openssl show);
// "" in ModeACME, where it changes with every renewal.
func (s *Server) Fingerprint() string {
	c := s.cert.Load()
	if c == nil || len(c.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Certificate[0])
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// SPKIHash is the base64 SHA-256 of the served certificate's public key
// (SubjectPublicKeyInfo), the form Chromium's
// --ignore-certificate-errors-spki-list takes; "" in ModeACME.
func (s *Server) SPKIHash() string {
	c := s.cert.Load()
	if c == nil || c.Leaf == nil {
		return ""
	}
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// CertFile is the PEM file of the certificate to give clients (their
// CA file): the stored self-signed one, or Config.CertFile; "" in
// ModeACME (clients trust the CA through their system roots).
func (s *Server) CertFile() string {
	switch s.mode {
	case ModeSelfSigned:
		return s.certPath
	case ModeFiles:
		return s.cfg.CertFile
	}
	return ""
}

// Reload reads Config.CertFile and Config.KeyFile again (ModeFiles;
// other modes have nothing to reload and return nil). On error the
// certificate served so far stays. Handshakes after it use the new
// certificate; connections already made keep theirs.
func (s *Server) Reload() error {
	if s.mode != ModeFiles {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("tlsconf: certificate %s, key %s: %w", s.cfg.CertFile, s.cfg.KeyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tlsconf: certificate %s: %w", s.cfg.CertFile, err)
		}
	}
	if now := s.cfg.Now(); now.After(cert.Leaf.NotAfter) {
		s.cfg.Logger.Warn("tls certificate has expired: clients will refuse it",
			"file", s.cfg.CertFile, "not_after", cert.Leaf.NotAfter)
	}
	s.cert.Store(&cert)
	s.cfg.Logger.Info("tls certificate loaded", "file", s.cfg.CertFile,
		"subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter, "sha256", s.Fingerprint())
	return nil
}

// ecdsaHello makes autocert see that a TLS 1.3 client supports ECDSA.
// autocert looks for an ECDHE-ECDSA suite among the TLS 1.2 cipher
// suites, which a TLS 1.3-only client (tickwire's Go clients) does not
// offer, and would obtain and serve an RSA certificate besides the ECDSA
// one browsers get; every TLS 1.3 client supports ECDSA P-256 (RFC 8446
// section 9.1), so such a hello gets one added, on a copy.
func ecdsaHello(hello *tls.ClientHelloInfo) *tls.ClientHelloInfo {
	if !slices.Contains(hello.SupportedVersions, tls.VersionTLS13) ||
		!slices.Contains(hello.SignatureSchemes, tls.ECDSAWithP256AndSHA256) ||
		slices.Contains(hello.CipherSuites, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) {
		return hello
	}
	h := *hello
	h.CipherSuites = append(slices.Clip(h.CipherSuites), tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	return &h
}

// getCertificate serves the current certificate (ModeFiles,
// ModeSelfSigned).
func (s *Server) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cert.Load(), nil
}
