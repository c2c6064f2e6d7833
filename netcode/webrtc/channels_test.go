package webrtc

import (
	"testing"

	"github.com/pion/datachannel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// channelMessagesSent is the number of messages c sent on the data
// channel of ch, as pion counts them.
func channelMessagesSent(c *Conn, ch netcode.Channel) uint32 {
	rw := c.rel
	if ch == netcode.Unreliable {
		rw = c.unrel
	}
	return rw.(*datachannel.DataChannel).MessagesSent()
}

// Each netcode channel is written on its own data channel: unreliable
// messages on the unordered, unretransmitted one, reliable ones on the
// reliable one.
func TestChannelsCarryTheirMessages(t *testing.T) {
	c, srv, _ := pair(t, Config{})
	rel, unrel := channelMessagesSent(c, netcode.Reliable), channelMessagesSent(c, netcode.Unreliable)
	const n = 20
	for range n {
		require.NoError(t, c.WriteMessage(netcode.Unreliable, []byte("move")))
	}
	require.NoError(t, c.WriteMessage(netcode.Reliable, []byte("done")))
	for {
		ch, _, err := srv.ReadMessage()
		require.NoError(t, err)
		if ch == netcode.Reliable {
			break
		}
	}
	assert.Equal(t, unrel+n, channelMessagesSent(c, netcode.Unreliable), "every unreliable message took the unreliable data channel")
	assert.Equal(t, rel+1, channelMessagesSent(c, netcode.Reliable))
}
