package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tickwire/tickwire/netcode/tlsconf"
)

// tlsFlags are the TLS settings of the command line.
type tlsFlags struct {
	cert, key, hosts         *string
	selfSigned               *bool
	acmeDomains, acmeEmail   *string
	acmeCache, acmeDirectory *string
}

// registerTLS adds the TLS flags to fs.
func registerTLS(fs *flag.FlagSet, env func(name, def string) string) tlsFlags {
	return tlsFlags{
		cert:       fs.String("tls-cert", env("TICKWIRE_TLS_CERT", ""), "PEM certificate chain for HTTPS and TCP over TLS, with -tls-key; SIGHUP reloads both (env TICKWIRE_TLS_CERT)"),
		key:        fs.String("tls-key", env("TICKWIRE_TLS_KEY", ""), "PEM private key of -tls-cert (env TICKWIRE_TLS_KEY)"),
		selfSigned: fs.Bool("tls-self-signed", env("TICKWIRE_TLS_SELF_SIGNED", "") == "on", `development: serve a self-signed certificate for localhost, 127.0.0.1, ::1 and -tls-hosts, kept in DATA/`+tlsconf.SelfSignedCertFile+` (env TICKWIRE_TLS_SELF_SIGNED=on)`),
		hosts:      fs.String("tls-hosts", env("TICKWIRE_TLS_HOSTS", ""), "comma-separated extra host names or IPs of the self-signed certificate (env TICKWIRE_TLS_HOSTS)"),
		acmeDomains: fs.String("tls-acme-domain", env("TICKWIRE_TLS_ACME_DOMAIN", ""),
			"comma-separated domains to get certificates for from an ACME CA (Let's Encrypt) by TLS-ALPN-01: -http must be reachable on port 443 of each (env TICKWIRE_TLS_ACME_DOMAIN)"),
		acmeEmail:     fs.String("tls-acme-email", env("TICKWIRE_TLS_ACME_EMAIL", ""), "contact address given to the ACME CA (env TICKWIRE_TLS_ACME_EMAIL)"),
		acmeCache:     fs.String("tls-acme-cache", env("TICKWIRE_TLS_ACME_CACHE", ""), "where ACME certificates are kept (default DATA/acme) (env TICKWIRE_TLS_ACME_CACHE)"),
		acmeDirectory: fs.String("tls-acme-directory", env("TICKWIRE_TLS_ACME_DIRECTORY", ""), "ACME directory URL (default Let's Encrypt production; its staging directory for trials) (env TICKWIRE_TLS_ACME_DIRECTORY)"),
	}
}

// config turns the flags into a tlsconf.Config: at most one source of
// certificates; none is ModeOff (plain HTTP and TCP).
func (f tlsFlags) config(dataDir string) (tlsconf.Config, error) {
	var c tlsconf.Config
	files := *f.cert != "" || *f.key != ""
	acme := *f.acmeDomains != ""
	n := 0
	for _, on := range []bool{files, *f.selfSigned, acme} {
		if on {
			n++
		}
	}
	switch {
	case n > 1:
		return c, errors.New("-tls-cert/-tls-key, -tls-self-signed and -tls-acme-domain exclude each other")
	case files && (*f.cert == "" || *f.key == ""):
		return c, errors.New("-tls-cert and -tls-key go together")
	case *f.hosts != "" && !*f.selfSigned:
		return c, errors.New("-tls-hosts is for -tls-self-signed (ACME takes -tls-acme-domain)")
	case !acme && (*f.acmeEmail != "" || *f.acmeCache != "" || *f.acmeDirectory != ""):
		return c, errors.New("-tls-acme-email, -tls-acme-cache and -tls-acme-directory need -tls-acme-domain")
	case files:
		c = tlsconf.Config{Mode: tlsconf.ModeFiles, CertFile: *f.cert, KeyFile: *f.key}
	case *f.selfSigned:
		c = tlsconf.Config{Mode: tlsconf.ModeSelfSigned, Dir: dataDir, Hosts: list(*f.hosts)}
	case acme:
		cache := *f.acmeCache
		if cache == "" {
			cache = filepath.Join(dataDir, "acme")
		}
		c = tlsconf.Config{Mode: tlsconf.ModeACME, Hosts: list(*f.acmeDomains), Dir: cache,
			Email: *f.acmeEmail, DirectoryURL: *f.acmeDirectory}
	}
	return c, nil
}

// startTLS builds the server's TLS configuration (nil for ModeOff) and
// says on the log what clients need to trust it.
func startTLS(cfg tlsconf.Config, log *slog.Logger) (*tlsconf.Server, error) {
	cfg.Logger = log.With("component", "tls")
	ts, err := tlsconf.New(cfg)
	if err != nil || ts == nil {
		return nil, err
	}
	switch ts.Mode() {
	case tlsconf.ModeSelfSigned:
		log.Warn("TLS with a self-signed development certificate: give clients its file (tickctl -tls-ca FILE), browsers need it trusted",
			"cert", ts.CertFile(), "sha256", ts.Fingerprint(), "spki_sha256", ts.SPKIHash())
	case tlsconf.ModeFiles:
		log.Info("TLS with certificate files; SIGHUP reloads them", "cert", cfg.CertFile, "sha256", ts.Fingerprint())
	case tlsconf.ModeACME:
		log.Info("TLS with ACME certificates (TLS-ALPN-01 on the HTTPS port, which must be port 443)", "domains", cfg.Hosts, "cache", cfg.Dir)
	}
	return ts, nil
}

// reloadSignals returns the channel on which SIGHUP arrives when ts has
// files to reload (nil otherwise: a nil channel never fires), and the
// function that stops the notification.
func reloadSignals(ts *tlsconf.Server) (<-chan os.Signal, func()) {
	if ts == nil || ts.Mode() != tlsconf.ModeFiles {
		return nil, func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}
