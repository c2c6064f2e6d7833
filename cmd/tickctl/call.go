package main

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Calls from the command line: "call" rings a friend, "answer" waits for
// a call and accepts it. Both stay in the call, printing its states and
// the signaling payloads that arrive, until it ends, --for passes or
// Ctrl-C (which hangs up). Media is the application's: --signal sends one
// text payload to the other side once the call is active, which is
// enough to see the relay work.

// callJSON is one call state in --json output.
type callJSON struct {
	Type              string `json:"type"` // "call"
	CallID            uint64 `json:"call_id"`
	State             string `json:"state"`            // ringing, active, ended
	Reason            string `json:"reason,omitempty"` // when ended
	CallerID          string `json:"caller_id"`
	CalleeID          string `json:"callee_id"`
	ByUserID          string `json:"by_user_id,omitempty"`
	AnsweredElsewhere bool   `json:"answered_elsewhere,omitempty"`
}

// signalJSON is one received signaling payload in --json output.
type signalJSON struct {
	Type        string `json:"type"` // "signal"
	FromUserID  string `json:"from_user_id"`
	FromSession uint64 `json:"from_session"`
	CallID      uint64 `json:"call_id,omitempty"`
	RoomID      uint64 `json:"room_id,omitempty"`
	Bytes       int    `json:"bytes"`
	Text        string `json:"text,omitempty"` // the payload, when it is UTF-8
}

func toCallJSON(c *client.Client, u *frame.CallUpdate) callJSON {
	j := callJSON{Type: "call", CallID: u.CallID, State: u.State.String(), CallerID: u.CallerID, CalleeID: u.CalleeID,
		ByUserID: u.ByUserID, AnsweredElsewhere: c.CallAnsweredElsewhere(u)}
	if u.State == frame.CallEnded {
		j.Reason = u.Reason.String()
	}
	return j
}

func (a *app) emitSignal(r *frame.SignalRecv) {
	j := signalJSON{Type: "signal", FromUserID: r.FromUserID, FromSession: r.FromSession, CallID: r.CallID, RoomID: r.RoomID, Bytes: len(r.Payload)}
	human := fmt.Sprintf("signal from %s (session %d): %d bytes", r.FromUserID, r.FromSession, len(r.Payload))
	if utf8.Valid(r.Payload) {
		j.Text = string(r.Payload)
		human += fmt.Sprintf(": %q", j.Text)
	}
	a.emit(human, j)
}

func (a *app) cmdCall(ctx context.Context, args []string) error {
	fs := a.flags("call")
	forD := fs.Duration("for", 0, "hang up after this long (default: until the call ends or Ctrl-C)")
	sig := fs.String("signal", "", "send this text to the callee once the call is active")
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	ctx, dctx, c, done, err := a.longSession(ctx, *forD)
	if err != nil {
		return err
	}
	defer done()
	f, err := findUser(dctx, c, pos[0], netcode.CodeNotFriends)
	if err != nil {
		return err
	}
	u, err := c.Invite(dctx, f.UserID)
	if err != nil {
		return err
	}
	a.emit(fmt.Sprintf("ringing %s (call %d)", f.Username, u.CallID), toCallJSON(c, &u))
	return a.inCall(ctx, c, u.CallID, *sig)
}

func (a *app) cmdAnswer(ctx context.Context, args []string) error {
	fs := a.flags("answer")
	forD := fs.Duration("for", 0, "stop waiting, or hang up, after this long (default: until the call ends or Ctrl-C)")
	sig := fs.String("signal", "", "send this text to the caller once the call is active")
	if _, err := a.parse(fs, args, 0, 0); err != nil {
		return err
	}
	ctx, dctx, c, done, err := a.longSession(ctx, *forD)
	if err != nil {
		return err
	}
	defer done()
	me := c.Welcome().UserID
	a.note("waiting for a call as %s (Ctrl-C to stop)", c.Welcome().DisplayName)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err()
			}
			u, isCall := decodeCall(m)
			if !isCall || u.State != frame.CallRinging || u.CalleeID != me {
				continue
			}
			a.emit(fmt.Sprintf("%s is calling (call %d)", u.CallerName, u.CallID), toCallJSON(c, u))
			if err := c.AcceptCall(dctx, u.CallID); err != nil {
				return err
			}
			return a.inCall(ctx, c, u.CallID, *sig)
		}
	}
}

func decodeCall(m client.Message) (*frame.CallUpdate, bool) {
	if m.Kind != frame.KindCallUpdate {
		return nil, false
	}
	var u frame.CallUpdate
	if m.Decode(&u) != nil {
		return nil, false
	}
	return &u, true
}

// inCall prints call id's states and the signals that arrive until the
// call ends (nil: an ending is a normal end) or ctx does (it hangs up).
func (a *app) inCall(ctx context.Context, c *client.Client, id uint64, sig string) error {
	for {
		select {
		case <-ctx.Done():
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout())
			defer cancel()
			if err := c.EndCall(hctx, id); err != nil {
				return err
			}
			a.note("hung up")
			return nil
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err()
			}
			if m.Kind == frame.KindSignalRecv {
				var r frame.SignalRecv
				if err := m.Decode(&r); err != nil {
					return fmt.Errorf("bad frame from the server: %w", err)
				}
				if r.CallID == id {
					a.emitSignal(&r)
				}
				continue
			}
			u, isCall := decodeCall(m)
			if !isCall || u.CallID != id {
				continue
			}
			switch u.State {
			case frame.CallActive:
				a.emit(fmt.Sprintf("call %d answered", id), toCallJSON(c, u))
				if sig != "" && !c.CallAnsweredElsewhere(u) {
					sctx, cancel := context.WithTimeout(ctx, a.timeout())
					err := c.SignalCall(sctx, id, []byte(sig))
					cancel()
					if err != nil {
						return err
					}
				}
			case frame.CallEnded:
				line := fmt.Sprintf("call %d ended: %s", id, u.Reason)
				if u.ByUserID != "" {
					line += " by " + u.ByUserID
				}
				a.emit(line, toCallJSON(c, u))
				return nil
			}
		}
	}
}
