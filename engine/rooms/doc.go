// Package rooms is the engine's room service: the registry of open rooms,
// matchmaking (join by id, join-or-create by type and label), and the
// tick driver that runs every room's sans-IO state machine (package room).
//
// The Hub is a service.Service for frame kinds 16–63 and a
// service.Runner. Run starts a fixed set of workers (Config.Workers,
// default one per CPU); each room belongs to exactly one worker for its
// whole life and is ticked against absolute deadlines (deadline += period)
// — there is no goroutine or time.Ticker per room. A tick that starts late
// still runs once; deadlines that passed meanwhile are skipped and
// counted, never replayed in a burst. Per room type the hub measures tick
// duration, tick lateness and skipped ticks (Stats).
//
// Concurrency: sessions never touch a room. HandleFrame (called from each
// session's reader) validates a request, reserves seats in the directory
// (Hub.mu) and appends an op to the room's bounded inbox (roomRun.mu);
// inputs wait there until the next tick, joins and leaves wake the worker
// at once, and so do voice frames (VoiceSend) for a room whose handler is
// a room.MediaHandler (the built-in "voice" type, package room/voice):
// the worker hands each to the room as soon as it wakes, and what the room
// forwards is flushed at the end of that same step, not at the tick. The worker swaps the inbox out, applies it in arrival order,
// ticks, and delivers the room's outbox, which never blocks: a frame is
// encoded once and the same bytes are queued to every member; a slow
// member loses frames (counted) or is disconnected by its session, and
// the room never waits. Delivery batches: to a peer that is a
// service.BatchPeer (the engine's sessions) frames are only queued, and
// at the end of each worker step — every room it ticked and every op it
// applied — each such peer is flushed once, in the worker's goroutine (on
// KCP that is one batched write for a whole event loop; tick_time
// therefore covers queueing, not the flush); other peers get Send. A
// panic inside a room handler closes that room alone with
// CodeRoomCrashed and is logged with its stack.
//
// Join-or-create calls of the same type and label are serialised by a
// striped lock (Hub.matchMu), so two of them never both create a room
// while one has a seat for both. Refused inputs are answered with at most
// Config.MaxInputErrorsPerSecond Error frames per session; the rest are
// only counted. Stats are also served over HTTP through
// service.StatsReporter.
//
// Rooms that clients create (RoomCreate, a creating RoomJoinOrCreate)
// count against their creator's user id and a server-wide cap until they
// close (Config.MaxRoomsCreatedPerUser, Config.MaxRooms; refusals carry
// CodeRoomCreateLimit and are counted in Stats.Refused); their tick rate
// and empty lifetime are lowered to Config.MaxClientTickRate and
// Config.EmptyRoomTTL. Rooms created through CreateRoom are the
// embedder's and are not limited. Labels pass frame.CleanText.
//
// In a cluster (Config.Directory) the hub publishes every change of its
// rooms' seats to the directory, answers a join for a room another node
// owns, and a join-or-create that finds no seat here but one elsewhere,
// with a RoomRedirect (kind 28), joins a RoomJoinTicket (kind 29) the
// directory redeems, and counts a user's rooms on every node against
// MaxRoomsCreatedPerUser. The directory answers from memory: no network
// call on a session's reader.
//
// Lock order: Hub.matchMu, Hub.mu, session.mu, roomRun.mu, shard.mu; the
// Directory's own lock comes after Hub.mu and is never held while the hub
// is called. No lock is held while a room handler runs or while
// Peer.Send, Queue or Flush is called.
package rooms
