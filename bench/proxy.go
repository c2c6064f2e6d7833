package bench

import (
	"context"

	"github.com/tickwire/tickwire/netcode/impair"
)

// proxy is an impairment proxy in front of one server address.
type proxy interface {
	Addr() string
	// WireBytes estimates the bytes both endpoints put on the wire: what
	// the proxy forwarded plus its dropped packets counted at the mean
	// forwarded size (the impair proxy counts bytes only when it
	// forwards).
	WireBytes() uint64
	// Removed says which impairments the proxy could not apply ("" when
	// none were removed).
	Removed() string
	Close() error
}

// impairConfig translates an Impairment into the proxies' config: the
// same loss, delay and jitter in each direction.
func impairConfig(imp Impairment, seed int64) impair.Config {
	d := impair.Direction{Loss: imp.LossPct / 100, Delay: imp.Delay, Jitter: imp.Jitter}
	return impair.Config{Up: d, Down: d, Seed: seed}
}

func startProxy(_ context.Context, env *Env, transport, target string, imp Impairment, seed int64) (proxy, error) {
	cfg := impairConfig(imp, seed)
	cfg.Logger = env.logger()
	if transport == TransportTCP {
		tcfg, removed := cfg.ForTCP()
		p, err := impair.NewTCPProxy("127.0.0.1:0", target, tcfg)
		if err != nil {
			return nil, err
		}
		return &tcpProxy{p: p, removed: removed}, nil
	}
	p, err := impair.NewUDPProxy("127.0.0.1:0", target, cfg)
	if err != nil {
		return nil, err
	}
	return &udpProxy{p: p}, nil
}

func emitted(d impair.DirStats) uint64 {
	if d.Forwarded == 0 {
		return 0
	}
	return d.Bytes + d.TotalDropped()*d.Bytes/d.Forwarded
}

type udpProxy struct{ p *impair.UDPProxy }

func (u *udpProxy) Addr() string { return u.p.Addr().String() }
func (u *udpProxy) WireBytes() uint64 {
	s := u.p.Stats()
	return emitted(s.Up) + emitted(s.Down)
}
func (u *udpProxy) Removed() string { return "" }
func (u *udpProxy) Close() error    { return u.p.Close() }

type tcpProxy struct {
	p       *impair.TCPProxy
	removed string
}

func (t *tcpProxy) Addr() string { return t.p.Addr().String() }
func (t *tcpProxy) WireBytes() uint64 {
	s := t.p.Stats()
	return s.Up.Bytes + s.Down.Bytes
}
func (t *tcpProxy) Removed() string { return t.removed }
func (t *tcpProxy) Close() error    { return t.p.Close() }
