package tcp

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// The listener counts what it accepted and what is still open: a Conn
// gives its place back when it closes, whichever side closes it.
func TestListenerStats(t *testing.T) {
	ln := listen(t, Config{})
	var srv []*Conn
	for range 2 {
		acc := acceptAsync(ln)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		c, err := Dial(ctx, ln.Addr().String(), Config{})
		cancel()
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(netcode.CodeOK, "") })
		srv = append(srv, recvConn(t, acc))
	}
	st := ln.ListenerStats()
	assert.Equal(t, "tcp", st.Transport)
	assert.Equal(t, ln.Addr().String(), st.Addr)
	assert.Equal(t, 2, st.Sessions)
	assert.EqualValues(t, 2, st.Accepted)
	assert.EqualValues(t, 2, st.HandshakesStarted)
	assert.Zero(t, st.AcceptErrors)

	require.NoError(t, srv[0].Close(netcode.CodeOK, "bye"))
	require.NoError(t, srv[0].Close(netcode.CodeOK, "again")) // counted once
	assert.Equal(t, 1, ln.ListenerStats().Sessions)
	assert.EqualValues(t, 2, ln.ListenerStats().Accepted)
}
