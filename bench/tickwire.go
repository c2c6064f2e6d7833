package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// dialOptions returns client options for a bench session over transport.
func dialOptions(env *Env, transport, addr, token, name string) client.Options {
	o := client.Options{Addr: addr, Token: token, Name: name, Version: "tickbench", KCP: env.KCP}
	switch transport {
	case TransportTCP:
		o.Transport = client.TransportTCP
	default:
		o.Transport = client.TransportKCP
	}
	return o
}

// twLink is a tickwire client speaking Echo frames on one channel.
type twLink struct {
	c       *client.Client
	ch      netcode.Channel
	payload []byte
	out     frame.Echo // used by the sending goroutine only
	onReply atomic.Pointer[func(uint32)]
	dec     *frame.Decoder // used on the client's reader goroutine only
	echo    frame.Echo     // idem
}

func dialTickwire(ctx context.Context, env *Env, transport, addr string, size int) (*twLink, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tok, err := client.GuestToken(ctx, env.Target.httpBase(), "tickbench")
	if err != nil {
		return nil, fmt.Errorf("guest token: %w", err)
	}
	l := &twLink{ch: netcode.Reliable, payload: make([]byte, size), dec: frame.NewDecoder()}
	if transport == TransportKCPUnreliable {
		l.ch = netcode.Unreliable
	}
	o := dialOptions(env, transport, addr, tok, "tickbench-echo")
	o.Handler = l.handle
	c, err := client.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	l.c = c
	return l, nil
}

func (l *twLink) handle(m client.Message) {
	if m.Kind != frame.KindEcho {
		return
	}
	if err := l.dec.Decode(m.Data, &l.echo); err != nil {
		return
	}
	if f := l.onReply.Load(); f != nil {
		(*f)(l.echo.Seq)
	}
}

func (l *twLink) bind(f func(uint32)) { l.onReply.Store(&f) }

func (l *twLink) run() { <-l.c.Done() }

func (l *twLink) send(seq uint32) error {
	l.out.Seq, l.out.SentUs, l.out.Payload = seq, time.Now().UnixMicro(), l.payload
	return l.c.Send(l.ch, &l.out)
}

func (l *twLink) wire() (uint64, string) {
	s := l.c.Stats()
	return s.BytesSent + s.BytesRecv, "client transport stats"
}

func (l *twLink) close() error { return l.c.Close() }

func (l *twLink) extra(r *Result) {
	s := l.c.Stats()
	if s.Transport == "kcp" {
		r.SetExtra("loss_rate", s.LossRate)
		r.SetExtra("redundancy", float64(s.Redundancy))
		r.SetExtra("redundant_bytes", float64(s.RedundantBytes))
		r.SetExtra("retransmits", float64(s.Retransmits))
	}
	if d := s.TotalDrops(); d > 0 {
		r.SetExtra("client_drops", float64(d))
	}
}
