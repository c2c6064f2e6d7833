package rooms

import (
	"errors"

	"github.com/tickwire/tickwire/netcode"
)

// Errors returned by the Hub. The coded ones are what sessions are
// answered with (netcode.CodeOf).
var (
	ErrBadConfig       = errors.New("rooms: invalid config")
	ErrTypeRegistered  = errors.New("rooms: room type already registered")
	ErrHubClosed       = &netcode.CodedError{Code: netcode.CodeServerShutdown, Msg: "room hub is shut down"}
	ErrUnknownType     = &netcode.CodedError{Code: netcode.CodeUnknownRoomType, Msg: "unknown room type"}
	ErrRoomNotFound    = &netcode.CodedError{Code: netcode.CodeRoomNotFound, Msg: "no open room with that id"}
	ErrRoomFull        = &netcode.CodedError{Code: netcode.CodeRoomFull, Msg: "room is full"}
	ErrTooManyRooms    = &netcode.CodedError{Code: netcode.CodeTooManyRooms, Msg: "session is in too many rooms"}
	ErrAlreadyInRoom   = &netcode.CodedError{Code: netcode.CodeAlreadyInRoom, Msg: "already a member of that room"}
	ErrNotInRoom       = &netcode.CodedError{Code: netcode.CodeNotInRoom, Msg: "not a member of that room"}
	ErrInputTooLarge   = &netcode.CodedError{Code: netcode.CodeInputTooLarge, Msg: "room input too large"}
	ErrInputRateLimit  = &netcode.CodedError{Code: netcode.CodeInputRateLimited, Msg: "too many room inputs"}
	ErrInboxFull       = &netcode.CodedError{Code: netcode.CodeInputRateLimited, Msg: "room inbox full"}
	ErrBadRoomSettings = &netcode.CodedError{Code: netcode.CodeBadRoomConfig, Msg: "invalid room settings"}
	// ErrUserRoomLimit and ErrServerRoomLimit refuse a client's room
	// creation (Config.MaxRoomsCreatedPerUser, Config.MaxRooms).
	ErrUserRoomLimit   = &netcode.CodedError{Code: netcode.CodeRoomCreateLimit, Msg: "too many open rooms created by this user"}
	ErrServerRoomLimit = &netcode.CodedError{Code: netcode.CodeRoomCreateLimit, Msg: "too many open rooms on the server"}
	// ErrNotClustered refuses a RoomJoinTicket on a node that is not in
	// a cluster.
	ErrNotClustered = &netcode.CodedError{Code: netcode.CodeBadTicket, Msg: "this node is not clustered: no tickets"}
	// ErrDraining refuses a room creation while the server drains.
	ErrDraining = &netcode.CodedError{Code: netcode.CodeDraining, Msg: "the server is draining: no new rooms"}
)
