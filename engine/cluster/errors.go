package cluster

import (
	"errors"

	"github.com/tickwire/tickwire/netcode"
)

// Errors of the cluster package. The coded ones reach clients.
var (
	ErrBadConfig = errors.New("cluster: invalid config")
	ErrClosed    = errors.New("cluster: node closed")
	// ErrUnavailable: this node cannot reach NATS, so it cannot answer
	// for the rest of the cluster.
	ErrUnavailable = &netcode.CodedError{Code: netcode.CodeClusterUnavailable, Msg: "the cluster is unreachable from this node"}
	// ErrNodeGone: the node that owns the room is not live.
	ErrNodeGone = &netcode.CodedError{Code: netcode.CodeNodeGone, Msg: "the room's node is gone"}
	// Ticket refusals (Tickets.Redeem).
	ErrBadTicket     = &netcode.CodedError{Code: netcode.CodeBadTicket, Msg: "redirect ticket is malformed, forged or not for this user, room or node"}
	ErrTicketExpired = &netcode.CodedError{Code: netcode.CodeTicketExpired, Msg: "redirect ticket expired"}
	ErrTicketReused  = &netcode.CodedError{Code: netcode.CodeTicketReused, Msg: "redirect ticket already used"}
)
