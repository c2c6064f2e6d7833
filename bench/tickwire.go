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

// twLink is a tickwire client speaking Echo frames on one channel.
type twLink struct {
	c       *client.Client
	ch      netcode.Channel
	payload []byte
	out     frame.Echo // used by the sending goroutine only
	onReply atomic.Pointer[func(uint32)]
	dec     *frame.Decoder // used on the client's reader goroutine only
	echo    frame.Echo     // idem
	ferr    frame.Error    // idem
	// limited is set when the server answered an echo with
	// CodeRateLimited: its per-session frame limit is below the send rate.
	limited atomic.Bool
}

// dialTimeout bounds one session's setup (guest token, dial, handshake),
// so that a server that never answers one dial ends the run promptly.
const dialTimeout = 15 * time.Second

// dialSession dials a client, its handshake bounded by dialTimeout.
func dialSession(ctx context.Context, o client.Options) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return client.Dial(ctx, o)
}

func dialTickwire(ctx context.Context, env *Env, transport, addr string, size int) (*twLink, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	tok, err := env.Target.api().GuestToken(ctx, "tickbench")
	if err != nil {
		return nil, fmt.Errorf("guest token: %w", err)
	}
	l := &twLink{ch: channelOf(transport), payload: make([]byte, size), dec: frame.NewDecoder()}
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
	if m.Kind == frame.KindError {
		if l.dec.Decode(m.Data, &l.ferr) == nil && l.ferr.Code == netcode.CodeRateLimited {
			l.limited.Store(true)
		}
		return
	}
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
	return l.explain(l.c.Send(l.ch, &l.out))
}

// explain adds the likely cause to a send error after the server
// rate-limited this session: a production server's default frame limit
// (200/s) is below a paced echo (1,000/s) and far below back-to-back.
func (l *twLink) explain(err error) error {
	if err == nil || !l.limited.Load() {
		return err
	}
	return fmt.Errorf("%w: %w (the server's per-session frame limit is below this run's send rate: "+
		"start tickwire with --max-frames-per-sec 1000000, or target tickbench serve; see docs/TICKBENCH.md)", ErrServerLimits, err)
}

func (l *twLink) wire() (uint64, string) {
	s := l.c.Stats()
	return s.BytesSent + s.BytesRecv, "client transport stats"
}

// close ends the session. A run during which the server rate-limited it
// is an error even if no send failed: the server drops the excess
// silently (answering a few), so the figures measure its limit, not the
// link.
func (l *twLink) close() error {
	if err := l.c.Close(); err != nil || !l.limited.Load() {
		return err
	}
	return l.explain(netcode.CodeRateLimited)
}

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
