// Package voice is the built-in voice room type ("voice"): members send
// encoded audio frames (one raw Opus packet each, with a sequence number
// and a 48 kHz timestamp, as RTP numbers them) and the room forwards each
// frame at once — not on the tick — to every other member that is not
// deafened. It drops a muted sender's frames, frames behind the sequence
// window or the timestamp lag (stale), frames already forwarded
// (duplicate) and frames over the sender's bitrate or frame-rate cap,
// and counts every drop by reason (Counters). It reports, as VoiceEvents
// to every member, when a member starts speaking (its first speech frame
// after silence) and stops (SilenceTimeout without speech, checked at
// each tick), mutes, unmutes, deafens and undeafens.
//
// Stream is the sans-IO core of one member's audio; Room is the
// room.MediaHandler that owns a Stream per member. Nothing here reads a
// clock, touches a socket or starts a goroutine: the room driver
// (engine/rooms) passes the time in and owns the room, like every room.
// The handler sees members, not sessions, so a member fed by something
// other than a native client's session (an RTP track of an SFU) needs no
// change here: the payload is one Opus packet and seq and timestamp are
// RTP's.
//
// Concurrency: a Room and its Streams belong to the room's single owner.
// Counters are atomics shared by every voice room of a server.
package voice
