package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// Env is where scenarios run: the server they talk to and how they report
// progress.
type Env struct {
	Target Target
	// Progress makes progress bars (nil: none). See Bar.
	Progress func(label string, total int64) *Progress
	// Logger receives rare events (nil: discard).
	Logger *slog.Logger
	// KCP configures the tickwire clients' KCP transport (zero: the
	// defaults), e.g. a redundancy budget for a what-if run.
	KCP kcp.Config
}

func (e *Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// Target holds the addresses of a tickwire server and of the two baseline
// echo servers (host:port each).
type Target struct {
	KCP, TCP, HTTP   string // tickwire: KCP (UDP), framed TCP, HTTP API
	UDPEcho, KCPEcho string // baselines: plain UDP echo, kcp-go echo
	// Local is true when the servers run inside this process.
	Local bool
	// ServerPID, when > 0, is a local server process whose CPU and memory
	// are sampled from /proc during room runs.
	ServerPID int
}

// Default ports of a remote server (tickwire serve and tickbench serve
// use the same).
const (
	DefaultKCPPort     = 7777
	DefaultTCPPort     = 7778
	DefaultHTTPPort    = 7780
	DefaultUDPEchoPort = 7790
	DefaultKCPEchoPort = 7791
)

// RemoteTarget builds a Target from a host and its ports.
func RemoteTarget(host string, kcpPort, tcpPort, httpPort, udpEchoPort, kcpEchoPort int) Target {
	hp := func(p int) string { return net.JoinHostPort(host, strconv.Itoa(p)) }
	return Target{KCP: hp(kcpPort), TCP: hp(tcpPort), HTTP: hp(httpPort), UDPEcho: hp(udpEchoPort), KCPEcho: hp(kcpEchoPort)}
}

func (t Target) addrFor(transport string) (string, error) {
	var a string
	switch transport {
	case TransportKCP, TransportKCPUnreliable:
		a = t.KCP
	case TransportTCP:
		a = t.TCP
	case TransportUDPRaw:
		a = t.UDPEcho
	case TransportKCPBare:
		a = t.KCPEcho
	default:
		return "", fmt.Errorf("%w: %q", ErrUnknownTransport, transport)
	}
	if a == "" {
		return "", fmt.Errorf("%w %s", ErrNoAddress, transport)
	}
	return a, nil
}

// httpBase is the base URL of the HTTP API.
func (t Target) httpBase() string { return "http://" + t.HTTP }

func dialLink(ctx context.Context, env *Env, transport, addr string, size int) (echoLink, error) {
	switch transport {
	case TransportUDPRaw:
		l, err := dialUDPLink(addr, size)
		if err != nil {
			return nil, err
		}
		return l, nil
	case TransportKCPBare:
		l, err := dialKCPLink(addr, size, BareProfile)
		if err != nil {
			return nil, err
		}
		l.local = env.Target.Local
		return l, nil
	case TransportKCP, TransportKCPUnreliable, TransportTCP:
		l, err := dialTickwire(ctx, env, transport, addr, size)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTransport, transport)
}

// bar starts a progress bar, or returns nil (a valid no-op bar).
func (e *Env) bar(label string, total int64) *Progress {
	if e.Progress == nil {
		return nil
	}
	return e.Progress(label, total)
}
