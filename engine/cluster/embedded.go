package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures an in-process NATS server.
type EmbeddedConfig struct {
	// Addr is the client listener's address (default "127.0.0.1:0": the
	// loopback, a free port). Bind a non-loopback address only behind a
	// firewall: the embedded server has no authentication.
	Addr string
	// StoreDir, when set, enables JetStream with its files there (the
	// server's data directory, e.g. DataDir/nats). Empty: no JetStream.
	StoreDir string
	// ReadyTimeout bounds the wait for the listener (default 5s).
	ReadyTimeout time.Duration
}

// Embedded is a NATS server running in this process: a single node or a
// development setup needs no external service. Other tickwire nodes may
// connect to its URL.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts an in-process NATS server and waits until it
// accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	host, port := "127.0.0.1", -1 // -1: a free port
	if cfg.Addr != "" {
		h, p, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w: embedded NATS address %q: %w", ErrBadConfig, cfg.Addr, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%w: embedded NATS port %q", ErrBadConfig, p)
		}
		host = h
		if n != 0 {
			port = n
		}
	}
	opts := &server.Options{
		ServerName: "tickwire-embedded",
		Host:       host,
		Port:       port,
		NoSigs:     true,
		NoLog:      true,
		JetStream:  cfg.StoreDir != "",
		StoreDir:   cfg.StoreDir,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: embedded NATS: %w", err)
	}
	srv.Start()
	wait := cfg.ReadyTimeout
	if wait == 0 {
		wait = 5 * time.Second
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("cluster: embedded NATS not ready after %v", wait)
	}
	return &Embedded{srv: srv}, nil
}

// URL is the client URL ("nats://127.0.0.1:port").
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Addr is the client listener's address (host:port).
func (e *Embedded) Addr() net.Addr { return e.srv.Addr() }

// Close shuts the server down and waits for it. It is idempotent.
func (e *Embedded) Close() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
