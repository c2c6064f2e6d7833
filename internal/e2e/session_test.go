package e2e

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

func TestHandshake(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	forEachTransport(t, func(t *testing.T, tr string) {
		before := time.Now()
		c := dial(t, srv, tr, client.Options{Token: guest(t, srv, "ann"), Name: "e2e", Version: "1.0"})
		w := c.Welcome()
		assert.NotZero(t, w.SessionID)
		assert.Contains(t, w.UserID, "g_")
		assert.Equal(t, "ann", w.DisplayName)
		assert.WithinDuration(t, before, time.UnixMicro(w.ServerTimeUs), 2*time.Second)
		assert.EqualValues(t, engine.DefaultMaxFrameSize, w.MaxFrame)
		assert.EqualValues(t, engine.DefaultMaxFramesPerSecond, w.MaxFramesPerSec)
		assert.EqualValues(t, engine.DefaultHeartbeatInterval/time.Millisecond, w.HeartbeatMs)
		assert.EqualValues(t, engine.DefaultIdleTimeout/time.Millisecond, w.IdleTimeoutMs)
		assert.Positive(t, c.RTT())
		assert.Nil(t, c.Err())
	})
	assert.EqualValues(t, 2, srv.Engine().Stats().Handshakes)
}

func TestHelloRejected(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	forEachTransport(t, func(t *testing.T, tr string) {
		cases := map[string]struct {
			o    client.Options
			code netcode.Code
		}{
			"bad token":     {client.Options{Token: "tw1.forged.token"}, netcode.CodeBadToken},
			"expired token": {client.Options{Token: expiredToken(t, srv)}, netcode.CodeTokenExpired},
			"wrong version": {client.Options{Token: guest(t, srv, "v"), ProtocolVersion: 42}, netcode.CodeProtocolVersion},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				o := tc.o
				o.Dial = dialerOf(srv, tr)
				c, err := client.Dial(ctxT(t), o)
				require.Error(t, err)
				assert.Nil(t, c)
				var ce *netcode.CodedError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.code, ce.Code, "message %q", ce.Msg)
				assert.ErrorIs(t, err, tc.code)
			})
		}
	})
	require.Eventually(t, func() bool { return srv.Engine().Stats().SessionsOpen == 0 }, wait, time.Millisecond)
	st := srv.Engine().Stats()
	assert.EqualValues(t, 2, st.Errors["bad_token"])
	assert.EqualValues(t, 2, st.Errors["token_expired"])
	assert.EqualValues(t, 2, st.Errors["protocol_version"])
	assert.Zero(t, st.Handshakes)
}

func TestBadInputIsAnsweredThenClosed(t *testing.T) {
	srv := servertest.Start(t, server.Config{Engine: engine.Config{MaxFrameSize: 1024, MaxBadFrames: 6, CloseLinger: 200 * time.Millisecond}})
	forEachTransport(t, func(t *testing.T, tr string) {
		bystander := dial(t, srv, tr, client.Options{})
		r := rawDial(t, srv, tr).Pump()

		// Before Hello: anything else is refused.
		r.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: 1})
		r.ExpectError(netcode.CodeNotAuthenticated)
		w := r.Hello(guest(t, srv, "mallory"))
		require.EqualValues(t, 1024, w.MaxFrame, "Welcome advertises the limit enforced below")

		echo, err := frame.Marshal(&frame.Echo{Seq: 1, Payload: make([]byte, 100)})
		require.NoError(t, err)
		r.SendRaw(netcode.Reliable, []byte("\xde\xad\xbe\xef garbage"))
		r.ExpectError(netcode.CodeBadFrame)
		r.SendRaw(netcode.Unreliable, echo[:len(echo)/2]) // truncated
		r.ExpectError(netcode.CodeBadFrame)
		r.SendRaw(netcode.Reliable, make([]byte, 2000)) // above MaxFrameSize
		r.ExpectError(netcode.CodeFrameTooLarge)
		r.SendRaw(netcode.Reliable, []byte{0x92, 0x0f, 0x01}) // kind 15: unused session kind
		r.ExpectError(netcode.CodeUnknownKind)

		echoRoundTrip(t, bystander, netcode.Reliable, 1)

		r.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion}) // second Hello
		r.ExpectError(netcode.CodeNotAuthenticated)
		r.ExpectClosed(netcode.CodeTooManyErrors)

		echoRoundTrip(t, bystander, netcode.Unreliable, 2)
		echoRoundTrip(t, bystander, netcode.Reliable, 3)
	})
	require.Eventually(t, func() bool { return srv.Engine().Stats().Closes["too_many_errors"] == 2 }, wait, time.Millisecond)
	assert.EqualValues(t, 2, srv.Engine().Stats().Errors["frame_too_large"])
}

func TestFrameRateLimit(t *testing.T) {
	srv := servertest.Start(t, server.Config{Engine: engine.Config{MaxFramesPerSecond: 20, MaxBadFrames: 1000}})
	forEachTransport(t, func(t *testing.T, tr string) {
		r := rawDial(t, srv, tr).Pump()
		w := r.Hello(guest(t, srv, "spammer"))
		require.EqualValues(t, 20, w.MaxFramesPerSec, "Welcome advertises the limit enforced below")
		const n = 100 // far above 20/s with a burst of 20
		for i := 0; i < n; i++ {
			r.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: int64(i)})
		}
		// One token refills every 50 ms at 20/s: a marker Ping sent after
		// 200 ms passes, and every answer to the flood comes before its Pong.
		<-time.After(200 * time.Millisecond)
		const marker = -1
		r.Send(netcode.Reliable, &frame.Ping{ClientTimeUs: marker})
		var pongs, limited int
		for {
			m := r.Next()
			k, err := frame.Peek(m.Data)
			require.NoError(t, err)
			if k == frame.KindPong {
				var p frame.Pong
				require.NoError(t, frame.Unmarshal(m.Data, &p))
				if p.ClientTimeUs == marker {
					break
				}
				pongs++
				continue
			}
			require.Equal(t, frame.KindError, k, "only Pongs and rate_limited answers; no close")
			var e frame.Error
			require.NoError(t, frame.Unmarshal(m.Data, &e))
			require.Equal(t, netcode.CodeRateLimited, e.Code)
			limited++
		}
		assert.GreaterOrEqual(t, pongs, 19, "the burst passes")
		assert.Less(t, pongs, n, "the flood is cut")
		assert.Positive(t, limited, "the excess is answered")
		assert.LessOrEqual(t, limited, 3, "answers to the excess are bounded (2 per second), not one per dropped frame")
		t.Logf("%s: %d pongs, %d rate limited", tr, pongs, limited)
	})
}

func TestPingAndEcho(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	forEachTransport(t, func(t *testing.T, tr string) {
		c := dial(t, srv, tr, client.Options{PingInterval: -1})
		minRTT := minPing(t, c, 5)
		assert.Positive(t, c.RTT())
		// Same machine, same clock: the true offset is 0, and the estimate,
		// taken from the sample with the smallest round trip, is off by at
		// most half that round trip (plus microsecond truncation), however
		// loaded the machine is.
		bound := minRTT/2 + time.Millisecond
		off := c.ClockOffset()
		assert.LessOrEqual(t, math.Abs(float64(off)), float64(bound), "offset %v, min rtt %v", off, minRTT)
		before := time.Now()
		sn := c.ServerNow()
		after := time.Now()
		assert.False(t, sn.Before(before.Add(-bound)) || sn.After(after.Add(bound)),
			"server now %v outside [%v, %v] ± %v", sn, before, after, bound)

		echoRoundTrip(t, c, netcode.Reliable, 10)
		echoRoundTrip(t, c, netcode.Unreliable, 11)
		big := make([]byte, 8000)
		for i := range big {
			big[i] = byte(i)
		}
		require.NoError(t, c.Send(netcode.Reliable, &frame.Echo{Seq: 12, Payload: big}))
		var m client.Message
		select {
		case m = <-c.Messages():
		case <-time.After(wait):
			require.FailNow(t, "no echo of the large payload")
		}
		require.Equal(t, frame.KindEcho, m.Kind, "client ended: %v", c.Err())
		var e frame.Echo
		require.NoError(t, m.Decode(&e))
		assert.Equal(t, big, e.Payload)
		st := c.Stats()
		assert.Equal(t, tr, st.Transport)
		assert.Positive(t, st.MessagesRecv)
	})
}

func TestShutdownTellsClients(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	var clients []*client.Client
	for _, tr := range transports {
		clients = append(clients, dial(t, srv, tr, client.Options{}), dial(t, srv, tr, client.Options{}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	for _, c := range clients {
		select {
		case <-c.Done():
		case <-time.After(wait):
			t.Fatal("client not closed by shutdown")
		}
		var ce *netcode.CloseError
		require.ErrorAs(t, c.Err(), &ce)
		assert.Equal(t, netcode.CodeServerShutdown, ce.Code)
		assert.True(t, ce.Code.MayReconnect())
		assert.ErrorIs(t, c.Send(netcode.Reliable, &frame.Ping{}), netcode.ErrClosed)
	}
	assert.EqualValues(t, 4, srv.Engine().Stats().Closes["server_shutdown"], "Shutdown waited for every session")
	assert.NoError(t, srv.Shutdown(ctx), "idempotent")
}

func TestSlowConsumer(t *testing.T) {
	srv := servertest.Start(t, server.Config{Engine: engine.Config{
		MaxFrameSize:       60000,
		MaxFramesPerSecond: 1_000_000,
		ReliableQueue:      32,
	}})
	forEachTransport(t, func(t *testing.T, tr string) {
		bystander := dial(t, srv, tr, client.Options{})
		before := srv.Engine().Stats().Closes["slow_consumer"]

		// A client that sends Echo requests but never reads the answers.
		r := rawDial(t, srv, tr)
		r.Send(netcode.Reliable, &frame.Hello{Version: frame.ProtocolVersion, Token: guest(t, srv, "slow")})
		echo, err := frame.Marshal(&frame.Echo{Payload: make([]byte, 50000)})
		require.NoError(t, err)
		closed := func() bool { return srv.Engine().Stats().Closes["slow_consumer"] > before }
		deadline := time.Now().Add(wait)
		sent := 0
		for !closed() && time.Now().Before(deadline) && sent < 5000 {
			if r.Conn.WriteMessage(netcode.Reliable, echo) != nil {
				break // the server closed us
			}
			sent++
			if sent%50 == 0 {
				echoRoundTrip(t, bystander, netcode.Reliable, uint32(sent)) // others are not stalled
			}
		}
		require.Eventually(t, closed, wait, 5*time.Millisecond, "slow consumer not closed after %d frames", sent)
		t.Logf("%s: slow consumer closed after %d echo requests of %d bytes", tr, sent, len(echo))
		echoRoundTrip(t, bystander, netcode.Reliable, 1)
		assert.Positive(t, srv.Engine().Stats().Drops["reliable_overflow"]+srv.Engine().Stats().Closes["slow_consumer"])
	})
}

func TestGuestTokenHTTP(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	tok, err := client.GuestToken(ctxT(t), srv.HTTPURL(), "")
	require.NoError(t, err)
	claims, err := srv.Engine().Signer().Verify(tok, time.Now())
	require.NoError(t, err)
	assert.True(t, claims.Guest)
	assert.NotEmpty(t, claims.Name)

	_, err = client.GuestToken(ctxT(t), srv.HTTPURL(), string(make([]byte, 100)))
	var ce *netcode.CodedError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, netcode.CodeBadText, ce.Code, "control characters, and too long: the one text rule")
	assert.False(t, errors.Is(err, netcode.CodeBadToken))
}

// A server whose clock runs 90 s ahead: the client's offset estimate and
// ServerNow follow it, with the sign the docs give (server minus client).
func TestClockOffsetFollowsServerClock(t *testing.T) {
	const skew = 90 * time.Second
	srv := servertest.Start(t, server.Config{Engine: engine.Config{Now: func() time.Time { return time.Now().Add(skew) }}})
	forEachTransport(t, func(t *testing.T, tr string) {
		c := dial(t, srv, tr, client.Options{PingInterval: -1})
		minRTT := minPing(t, c, 5)
		bound := minRTT/2 + time.Millisecond
		assert.InDelta(t, float64(skew), float64(c.ClockOffset()), float64(bound), "offset %v, min rtt %v", c.ClockOffset(), minRTT)
		assert.WithinDuration(t, time.Now().Add(skew), c.ServerNow(), bound+time.Millisecond)
		assert.WithinDuration(t, time.Now().Add(skew), time.UnixMicro(c.Welcome().ServerTimeUs), 5*time.Second)
	})
}

// minPing pings n times and returns the smallest round trip; every one
// must be positive and under a second.
func minPing(t *testing.T, c *client.Client, n int) time.Duration {
	t.Helper()
	best := time.Duration(math.MaxInt64)
	for range n {
		rtt, err := c.Ping(ctxT(t))
		require.NoError(t, err)
		assert.Positive(t, rtt)
		assert.Less(t, rtt, time.Second)
		best = min(best, rtt)
	}
	return best
}
