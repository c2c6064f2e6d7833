package kcp

// MaxUnreliableMessage is the largest message WriteMessage accepts on the
// unreliable channel (one datagram); a larger one is refused with
// netcode.ErrMessageTooLarge. The engine reads it to number an
// unreliable frame it will have to send reliably (session resume).
func (c *Conn) MaxUnreliableMessage() int { return c.maxUnreliable() }
