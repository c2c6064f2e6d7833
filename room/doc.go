// Package room is the sans-IO core of tickwire rooms: a room is a state
// machine with no sockets, no goroutines and no clock of its own. Its
// driver (engine/rooms) calls Join, Leave, Input, Tick and Close with the
// current time passed in, then drains the Outbox and delivers each
// Message — one encoded frame and a Target — to the members' sessions.
//
// A room type is a Handler: Created, Joined, Left, Input, Tick and
// Closing, each given a *Context through which it reads the room (time,
// tick number, members) and emits frames to all members, some, or one, on
// the reliable or the unreliable channel. Every frame a handler emits is
// encoded exactly once; the same bytes go to every recipient.
// What a handler drops by its own bounds it reports with
// Context.Dropped; the driver takes the count with Room.TakeDropped.
//
// A panic inside a handler is recovered by the Room, which then refuses
// further calls and reports a *PanicError (matching CodeRoomCrashed) with
// the stack, so that the driver closes that room alone.
//
// Concurrency: a Room and its Handler are owned by one goroutine at a
// time (the worker that ticks the room); nothing here is safe for
// concurrent use and nothing here blocks.
//
// The built-in relay type (NewRelay, registered as "relay") collects the
// inputs of each tick and broadcasts them in one RoomTick frame.
package room
