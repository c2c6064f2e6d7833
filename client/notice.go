package client

import "github.com/tickwire/tickwire/netcode/frame"

// DecodeNotice decodes a pushed message if it is a Notice from the
// server's operators (kind 11: a text to everyone or to this user, code 0
// or what it is about); ok is false for any other kind.
func DecodeNotice(m Message) (n frame.Notice, ok bool, err error) {
	if m.Kind != frame.KindNotice {
		return n, false, nil
	}
	return n, true, m.Decode(&n)
}
