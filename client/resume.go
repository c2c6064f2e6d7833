package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// ack tells the server that n numbered frames were processed. While the
// connection is down the Ack is dropped (the Resume carries the count).
func (c *Client) ack(n uint64) {
	if err := c.Send(netcode.Reliable, &frame.Ack{Received: n}); err == nil {
		c.acked.Store(n)
	}
}

// ackLoop acknowledges, every AckDelay, what the reader counted since the
// last Ack (the reader itself acks every AckEvery frames).
func (c *Client) ackLoop() {
	defer c.wg.Done()
	t := time.NewTicker(AckDelay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if n := c.recv.Load(); n > c.acked.Load() {
				c.ack(n)
			}
		case <-c.done:
			return
		case <-c.closing:
			return
		}
	}
}

// event tells Options.OnSession.
func (c *Client) event(ev SessionEvent) {
	if c.o.OnSession != nil {
		c.o.OnSession(ev)
	}
}

// errFinal marks a resume attempt whose answer another attempt would not
// change.
type errFinal struct{ err error }

func (e errFinal) Error() string { return e.err.Error() }
func (e errFinal) Unwrap() error { return e.err }

// resume runs on the reader after its connection failed with cause: it
// resumes the session on a new connection, trying every dial function in
// order, in rounds separated by a backoff with jitter, until one works,
// the server refuses, the attempts or the server's window run out, or
// Close. It reports whether the reader may go on (on the new connection).
func (c *Client) resume(cause error) bool {
	if !c.resumable || c.serverClosed {
		return false
	}
	select {
	case <-c.closing:
		return false
	default:
	}
	c.wmu.Lock()
	c.down = true
	old := c.conn
	c.wmu.Unlock()
	// A code other than ok: if this connection still reaches the server,
	// it parks the session instead of ending it.
	_ = old.Close(netcode.CodeConnectionLost, "connection lost: resuming") // best effort
	c.log.Info("connection lost; resuming", "err", cause)
	c.event(SessionEvent{Kind: SessionLost, Err: cause})

	o := c.o.Resume
	backoff := cmp.Or(o.Backoff, DefaultResumeBackoff)
	maxBackoff := cmp.Or(o.MaxBackoff, DefaultResumeMaxBackoff)
	deadline := time.Now().Add(time.Duration(c.Welcome().ResumeWindowMs) * time.Millisecond)
	attempts := 0
	last := cause
	for round := 1; ; round++ {
		for _, d := range c.dials {
			attempts++
			ev, err := c.resumeOn(d)
			if err == nil {
				ev.Attempts = attempts
				c.log.Info("session resumed", "transport", ev.Transport, "replayed", ev.Replayed, "resent", ev.Resent, "attempts", attempts)
				c.event(ev)
				return true
			}
			last = err
			select {
			case <-c.closing:
				return false
			default:
			}
			var fe errFinal
			if errors.As(err, &fe) {
				return c.resumeFailed(fe.err, attempts)
			}
			c.log.Debug("resume attempt failed", "attempt", attempts, "err", err)
		}
		if (o.MaxAttempts > 0 && round >= o.MaxAttempts) || time.Now().After(deadline) {
			return c.resumeFailed(last, attempts)
		}
		wait := backoff + rand.N(backoff/2+1)
		backoff = min(2*backoff, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return false
		}
	}
}

// resumeFailed ends the client after a resume that cannot succeed.
func (c *Client) resumeFailed(why error, attempts int) bool {
	err := &netcode.CodedError{Code: netcode.CodeConnectionLost, Msg: "session not resumed: " + why.Error(), Err: why}
	c.setErr(err)
	c.log.Info("session not resumed", "err", why, "attempts", attempts)
	c.event(SessionEvent{Kind: SessionEnded, Err: err, Attempts: attempts})
	return false
}

// resumeOn makes one attempt: dial, Resume, Welcome; then, under wmu,
// the connection is swapped in and the numbered frames the server did not
// process are resent, before any new frame.
func (c *Client) resumeOn(d DialFunc) (SessionEvent, error) {
	ctx, cancel := context.WithTimeout(c.ctx, cmp.Or(c.o.Resume.AttemptTimeout, DefaultResumeAttemptTimeout))
	defer cancel()
	conn, err := d(ctx)
	if err != nil {
		return SessionEvent{}, fmt.Errorf("client: dial: %w", err)
	}
	w0 := c.Welcome()
	w, err := exchange(ctx, conn, &frame.Resume{
		Version: c.o.ProtocolVersion, SessionID: w0.SessionID, ResumeID: w0.ResumeID,
		Received: c.recv.Load(), ClientName: c.o.Name, ClientVersion: c.o.Version,
	})
	if err != nil {
		// Not ok: had the server resumed the session on this connection
		// before the failure, ok would end it; another code parks it again.
		_ = conn.Close(netcode.CodeConnectionLost, "resume failed") // best effort
		var ce *netcode.CodedError
		if errors.As(err, &ce) && !retryable(ce) {
			return SessionEvent{}, errFinal{err}
		}
		return SessionEvent{}, err
	}
	if !w.Resumed || w.SessionID != w0.SessionID {
		_ = conn.Close(netcode.CodeOK, "not resumed") // best effort
		return SessionEvent{}, errFinal{fmt.Errorf("%w: Welcome for session %d (resumed %v), want %d resumed", ErrUnexpectedFrame, w.SessionID, w.Resumed, w0.SessionID)}
	}
	c.wmu.Lock()
	select {
	case <-c.closing:
		c.wmu.Unlock()
		_ = conn.Close(netcode.CodeOK, "client closed") // best effort
		return SessionEvent{}, errFinal{ErrClosed}
	default:
	}
	if w.Received > c.sent || c.sent-w.Received > ResendFrames {
		sent := c.sent
		c.wmu.Unlock()
		// A goodbye: the session cannot continue without a gap.
		_ = conn.Close(netcode.CodeOK, "frames to resend are lost") // best effort
		return SessionEvent{}, errFinal{fmt.Errorf("client: the server processed %d of %d frames and %d are kept", w.Received, sent, ResendFrames)}
	}
	resent := 0
	for n := w.Received + 1; n <= c.sent; n++ {
		// A failed write ends this connection: the reader sees it and
		// resumes again, and the server's count says what to resend.
		_ = conn.WriteMessage(netcode.Reliable, c.out[(n-1)%ResendFrames])
		resent++
	}
	c.conn, c.down = conn, false
	c.wmu.Unlock()
	c.mu.Lock()
	c.welcome = w
	c.mu.Unlock()
	c.acked.Store(c.recv.Load()) // the Resume told the server
	return SessionEvent{Kind: SessionResumed, Transport: conn.Transport(), Replayed: int(w.Replay), Resent: resent}, nil
}
