package e2e

import (
	"sync"
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

// TestManySessions runs a bounded crowd of clients on both transports at
// once, each echoing reliably, and checks every echo came back and every
// session ended cleanly.
func TestManySessions(t *testing.T) {
	const perTransport, echoes = 40, 25
	// Every client comes from 127.0.0.1: lift the per-address cap.
	srv := servertest.Start(t, server.Config{Engine: engine.Config{MaxSessionsPerIP: -1}})
	tok := guest(t, srv, "crowd")
	var wg sync.WaitGroup
	errs := make(chan error, 2*perTransport)
	for _, tr := range transports {
		for i := 0; i < perTransport; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- crowdMember(t, srv, tr, tok, echoes)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return srv.Engine().Stats().SessionsOpen == 0 }, wait, time.Millisecond)
	st := srv.Engine().Stats()
	assert.EqualValues(t, 2*perTransport, st.Handshakes)
	assert.GreaterOrEqual(t, st.FramesOut, uint64(2*perTransport*echoes))
	assert.Zero(t, st.Drops["reliable_overflow"])
	assert.Empty(t, st.Errors)
}

func crowdMember(t *testing.T, srv *server.Server, tr, tok string, echoes int) error {
	c, err := client.Dial(ctxT(t), client.Options{Dial: dialerOf(srv, tr), Token: tok, PingInterval: -1})
	if err != nil {
		return err
	}
	defer c.Close()
	seen := make(map[uint32]bool, echoes)
	for i := 0; i < echoes; i++ {
		if err := c.Send(netcode.Reliable, &frame.Echo{Seq: uint32(i), Payload: []byte("crowd")}); err != nil {
			return err
		}
	}
	deadline := time.After(wait)
	for len(seen) < echoes {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err()
			}
			var e frame.Echo
			if err := m.Decode(&e); err != nil {
				return err
			}
			seen[e.Seq] = true
		case <-deadline:
			return assert.AnError
		}
	}
	return nil
}
