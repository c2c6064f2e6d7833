package webrtc

import (
	"github.com/pion/datachannel"

	"github.com/tickwire/tickwire/netcode"
)

// ChannelMessagesSent is the number of messages c sent on the data
// channel of ch, as pion counts them (for the external tests).
func ChannelMessagesSent(c *Conn, ch netcode.Channel) uint32 {
	rw := c.rel
	if ch == netcode.Unreliable {
		rw = c.unrel
	}
	return rw.(*datachannel.DataChannel).MessagesSent()
}
