package conntest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// CheckRTTer checks a live Conn of a transport whose round-trip estimate
// costs a system call (TCP, WebSocket, long-poll): it implements
// netcode.RTTer, Stats leaves RTT zero (a metrics scrape that snapshots
// every session pays no system call), and netcode.RTTOf reads a positive
// estimate within timeout. Traffic should have crossed c both ways
// before, so that the transport has a sample.
func CheckRTTer(t testing.TB, c netcode.Conn, timeout time.Duration) {
	t.Helper()
	_, ok := c.(netcode.RTTer)
	require.True(t, ok, "%s: %T does not implement netcode.RTTer", c.Transport(), c)
	assert.Zero(t, c.Stats().RTT, "%s: Stats reads no RTT", c.Transport())
	require.Eventually(t, func() bool { return netcode.RTTOf(c) > 0 }, timeout, 5*time.Millisecond,
		"%s: RTTOf reads the transport's estimate", c.Transport())
	assert.Less(t, netcode.RTTOf(c), time.Second, "%s: a loopback RTT", c.Transport())
	assert.Zero(t, c.Stats().RTT, "%s: Stats still reads no RTT once there is one", c.Transport())
}

// Exchange sends one reliable message each way between a and b. It
// Pumps both: after it, the test reads neither.
func Exchange(t testing.TB, a, b netcode.Conn, timeout time.Duration) {
	t.Helper()
	ain, bin := Pump(t, a), Pump(t, b)
	require.NoError(t, a.WriteMessage(netcode.Reliable, []byte("ping")))
	m := Recv(t, bin, timeout)
	require.NoError(t, m.Err)
	require.Equal(t, "ping", string(m.Data))
	require.NoError(t, b.WriteMessage(netcode.Reliable, []byte("pong")))
	m = Recv(t, ain, timeout)
	require.NoError(t, m.Err)
	require.Equal(t, "pong", string(m.Data))
}
