package rooms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/room"
	"github.com/tickwire/tickwire/room/voice"
)

// Hub is the room registry, matchmaker and tick driver. It is a
// service.Service (it owns frame kinds 16–63) and a service.Runner (Run
// drives the tick workers).
type Hub struct {
	cfg     Config
	shards  []*shard
	drops   dropCounters
	refused refusalCounters
	voice   voice.Counters // every voice room's, and the refusals before one
	audio   audioCounters  // browser audio links (sfu.go)
	seq     atomic.Uint64  // creation order, for matchmaking ties and listing
	// draining refuses every room creation (Drain, admin.go).
	draining atomic.Bool

	sessions sync.Map // session id → *session

	// matchMu serialises join-or-create calls of the same type and label
	// (striped by key hash), so that two simultaneous calls never both
	// create a room while one could seat them both. Taken before mu.
	matchMu [matchStripes]sync.Mutex
	seed    maphash.Seed

	mu          sync.Mutex // guards the fields below
	types       map[string]*roomType
	rooms       map[uint64]*entry
	byKey       map[matchKey]map[*entry]struct{} // public rooms by type and label
	created     map[string]int                   // open client-created rooms by creator (session.creator)
	clientRooms int                              // open client-created rooms
	closed      bool                             // Run ended: no new rooms
	running     bool
}

type roomType struct {
	name    string
	factory room.Factory
	stats   typeStats
}

type matchKey struct{ typ, label string }

// matchStripes is the number of join-or-create locks; keys that share a
// stripe only wait for each other.
const matchStripes = 64

func (h *Hub) matchLock(k matchKey) *sync.Mutex {
	var mh maphash.Hash
	mh.SetSeed(h.seed)
	mh.WriteString(k.typ)
	mh.WriteByte(0)
	mh.WriteString(k.label)
	return &h.matchMu[mh.Sum64()%matchStripes]
}

// entry is a room as the directory sees it. The fields below run are
// guarded by Hub.mu.
type entry struct {
	id   uint64
	seq  uint64
	typ  *roomType
	key  matchKey
	run  *roomRun
	cap  int
	rate int
	priv bool
	// creator is who a client-created room counts against (see
	// session.creator); empty for rooms created through the Go API.
	creator string

	seats  int  // members plus joins queued to the room
	closed bool // the room is closing: refuse joins
}

// session is one peer as the hub sees it.
type session struct {
	peer service.Peer
	dec  *frame.Decoder // used only by the session's reader (HandleFrame)
	in   frame.RoomInput
	vs   frame.VoiceSend
	// creator is the key the rooms this session creates count against:
	// its user id, so that reconnecting does not reset the count.
	creator string
	inputs  *rate.Limiter // room inputs (MaxInputsPerSecond)
	errs    *rate.Limiter // Error replies to refused inputs

	audio atomic.Pointer[AudioMember] // the session's browser audio link (sfu.go), if any

	mu     sync.Mutex // guards the fields below
	rooms  map[uint64]*entry
	closed bool
}

// mayRefuse takes a token for answering a refused input with an Error.
func (s *session) mayRefuse(now time.Time) bool { return s.errs.AllowN(now, 1) }

// perSecond is a limiter of n events per second with a burst of n; a
// negative n lifts the limit.
func perSecond(n int) *rate.Limiter {
	if n < 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(n), n)
}

var (
	_ service.Service       = (*Hub)(nil)
	_ service.Runner        = (*Hub)(nil)
	_ service.StatsReporter = (*Hub)(nil)
)

// New returns a Hub with the built-in relay and voice types registered
// (unless cfg.DisableRelay, cfg.DisableVoice). Rooms tick only while Run runs.
func New(cfg Config) (*Hub, error) {
	if err := cfg.populate(); err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:     cfg,
		seed:    maphash.MakeSeed(),
		types:   map[string]*roomType{},
		rooms:   map[uint64]*entry{},
		byKey:   map[matchKey]map[*entry]struct{}{},
		created: map[string]int{},
	}
	for i := 0; i < cfg.Workers; i++ {
		h.shards = append(h.shards, newShard(h, i))
	}
	if !cfg.DisableRelay {
		if err := h.RegisterRoomType(room.RelayType, room.NewRelay); err != nil {
			return nil, err
		}
	}
	if !cfg.DisableVoice {
		f, err := voice.Factory(cfg.Voice, &h.voice)
		if err != nil {
			return nil, err
		}
		if err := h.RegisterRoomType(voice.Type, f); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// RegisterRoomType makes a room type available to create and
// join-or-create under name. Register types before serving sessions.
func (h *Hub) RegisterRoomType(name string, f room.Factory) error {
	if name == "" || len(name) > frame.MaxNameLen || f == nil {
		return fmt.Errorf("%w: room type %q", ErrBadConfig, name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.types[name]; ok {
		return fmt.Errorf("%w: %q", ErrTypeRegistered, name)
	}
	h.types[name] = &roomType{name: name, factory: f}
	return nil
}

// Name implements service.Service.
func (h *Hub) Name() string { return "rooms" }

// Handles implements service.Service: the room kinds 16–63.
func (h *Hub) Handles(k frame.Kind) bool { return k >= 16 && k <= 63 }

// PeerOpened implements service.Service.
func (h *Hub) PeerOpened(p service.Peer) {
	creator := p.UserID()
	if creator == "" { // not expected: every session has a user
		creator = "\x00session:" + strconv.FormatUint(p.SessionID(), 10)
	}
	s := &session{
		peer:    p,
		dec:     frame.NewDecoder(),
		creator: creator,
		rooms:   map[uint64]*entry{},
		inputs:  perSecond(h.cfg.MaxInputsPerSecond),
		errs:    perSecond(h.cfg.MaxInputErrorsPerSecond),
	}
	h.sessions.Store(p.SessionID(), s)
}

// PeerClosed implements service.Service: the session leaves every room.
func (h *Hub) PeerClosed(p service.Peer) {
	v, ok := h.sessions.LoadAndDelete(p.SessionID())
	if !ok {
		return
	}
	s := v.(*session)
	s.detachAudio(0, true)
	s.mu.Lock()
	rooms := s.rooms
	s.rooms, s.closed = nil, true
	s.mu.Unlock()
	for _, e := range rooms {
		if e.run.enqueue(op{kind: opLeave, sess: s}, nil) != nil {
			h.releaseSeat(e) // the room is closing; nothing to tell it
		}
	}
}

// PeerAway implements service.Resumer: the session's connection was
// lost; it keeps its seats and every room tells its other members it is
// away.
func (h *Hub) PeerAway(p service.Peer) { h.presence(p, opAway) }

// PeerBack implements service.Resumer: the session resumed; its rooms
// tell the other members it is back.
func (h *Hub) PeerBack(p service.Peer) { h.presence(p, opBack) }

// presence queues an away or back op to every room of p's session.
func (h *Hub) presence(p service.Peer, k opKind) {
	v, ok := h.sessions.Load(p.SessionID())
	if !ok {
		return
	}
	s := v.(*session)
	s.mu.Lock()
	rooms := make([]*entry, 0, len(s.rooms))
	for _, e := range s.rooms {
		rooms = append(rooms, e)
	}
	s.mu.Unlock()
	for _, e := range rooms {
		_ = e.run.enqueue(op{kind: k, sess: s}, nil) // a closing room has no one to tell
	}
}

// HandleFrame implements service.Service.
func (h *Hub) HandleFrame(now time.Time, p service.Peer, ch netcode.Channel, k frame.Kind, data []byte) (uint32, error) {
	v, ok := h.sessions.Load(p.SessionID())
	if !ok {
		return 0, netcode.Errorf(netcode.CodeInternal, "rooms: session %d not opened", p.SessionID())
	}
	s := v.(*session)
	switch k {
	case frame.KindRoomInput:
		if err := s.dec.Decode(data, &s.in); err != nil {
			return refOf(data), err
		}
		err := h.input(now, s, ch, &s.in)
		if err != nil && !s.mayRefuse(now) {
			// A flood of bad inputs must not become a flood of Error
			// frames back: past MaxInputErrorsPerSecond the refusal is
			// only counted.
			h.drops.unanswered.Add(1)
			err = nil
		}
		return s.in.Ref, err
	case frame.KindVoiceSend, frame.KindVoiceSet:
		return h.voiceFrame(now, s, ch, k, data)
	case frame.KindRoomCreate:
		var m frame.RoomCreate
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		cfg, err := h.clientSettings(m.Type, m.Label, int(m.Capacity), int(m.TickRate), m.EmptyTimeoutMs, m.Params)
		if err != nil {
			return m.Ref, err
		}
		cfg.Private = m.Private
		return m.Ref, h.createAndJoin(now, s, cfg, m.Ref)
	case frame.KindRoomJoinOrCreate:
		var m frame.RoomJoinOrCreate
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		cfg, err := h.clientSettings(m.Type, m.Label, int(m.Capacity), int(m.TickRate), m.EmptyTimeoutMs, m.Params)
		if err != nil {
			return m.Ref, err
		}
		return m.Ref, h.joinOrCreate(now, s, cfg, m.Ref)
	case frame.KindRoomJoin:
		var m frame.RoomJoin
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		return m.Ref, h.joinByID(s, m.RoomID, m.Ref)
	case frame.KindRoomJoinTicket:
		var m frame.RoomJoinTicket
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		return m.Ref, h.joinTicket(s, &m)
	case frame.KindRoomLeave:
		var m frame.RoomLeave
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		return m.Ref, h.leave(s, m.RoomID, m.Ref)
	case frame.KindRoomList:
		var m frame.RoomList
		if err := s.dec.Decode(data, &m); err != nil {
			return refOf(data), err
		}
		label, err := frame.CleanText(frame.TextRoomLabel, m.Label)
		if err != nil {
			h.refused.badLabel.Add(1)
			return m.Ref, err
		}
		res := frame.RoomListResult{Ref: m.Ref, Rooms: h.ListRooms(m.Type, label, int(m.Limit))}
		b, err := frame.Marshal(&res)
		if err != nil {
			return m.Ref, err
		}
		p.Send(netcode.Reliable, b)
		return m.Ref, nil
	}
	return refOf(data), netcode.Errorf(netcode.CodeUnknownKind, "kind %d is sent by the server only", k)
}

// refOf is the ref of a request that could not be decoded, so that the
// client's pending call still gets its Error (0 when even that is
// unreadable).
func refOf(data []byte) uint32 {
	_, ref, _ := frame.PeekRef(data)
	return ref
}

// clientSettings turns the room settings a client asked for (RoomCreate,
// RoomJoinOrCreate) into a room.Config: the label must pass
// frame.CleanText (it is stored normalized), zero fields take the hub's
// defaults, a tick rate above MaxClientTickRate and an empty timeout
// above EmptyRoomTTL are lowered to them (counted), and the hub's limits
// apply.
func (h *Hub) clientSettings(typ, label string, capacity, tickRate int, emptyMs uint32, params []byte) (room.Config, error) {
	label, err := frame.CleanText(frame.TextRoomLabel, label)
	if err != nil {
		h.refused.badLabel.Add(1)
		return room.Config{}, err
	}
	cfg := room.Config{Type: typ, Label: label, Capacity: capacity, TickRate: tickRate, Params: params,
		EmptyTimeout: time.Duration(emptyMs) * time.Millisecond}
	switch {
	case cfg.TickRate == 0:
		cfg.TickRate = min(h.cfg.DefaultTickRate, h.cfg.MaxClientTickRate)
	case cfg.TickRate > h.cfg.MaxClientTickRate && cfg.TickRate <= room.MaxTickRate:
		cfg.TickRate = h.cfg.MaxClientTickRate
		h.refused.tickRateCapped.Add(1)
	}
	switch {
	case cfg.EmptyTimeout == 0:
		cfg.EmptyTimeout = min(h.cfg.DefaultEmptyTimeout, h.cfg.EmptyRoomTTL)
	case cfg.EmptyTimeout > h.cfg.EmptyRoomTTL:
		cfg.EmptyTimeout = h.cfg.EmptyRoomTTL
		h.refused.emptyTTLCapped.Add(1)
	}
	if err := h.fill(&cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// fill applies defaults to zero fields and checks the hub's limits.
func (h *Hub) fill(cfg *room.Config) error {
	if cfg.Capacity == 0 {
		cfg.Capacity = h.cfg.DefaultCapacity
	}
	if cfg.TickRate == 0 {
		cfg.TickRate = h.cfg.DefaultTickRate
	}
	if cfg.EmptyTimeout == 0 {
		cfg.EmptyTimeout = h.cfg.DefaultEmptyTimeout
	}
	switch {
	case cfg.Capacity < 1 || cfg.Capacity > h.cfg.MaxCapacity:
		return netcode.Errorf(netcode.CodeBadRoomConfig, "capacity %d not in 1..%d", cfg.Capacity, h.cfg.MaxCapacity)
	case cfg.TickRate < room.MinTickRate || cfg.TickRate > room.MaxTickRate:
		return netcode.Errorf(netcode.CodeBadRoomConfig, "tick rate %d not in %d..%d", cfg.TickRate, room.MinTickRate, room.MaxTickRate)
	case cfg.EmptyTimeout > h.cfg.MaxEmptyTimeout:
		return netcode.Errorf(netcode.CodeBadRoomConfig, "empty timeout %v above %v", cfg.EmptyTimeout, h.cfg.MaxEmptyTimeout)
	}
	return nil
}

// input queues one input to a room the session is in.
func (h *Hub) input(now time.Time, s *session, ch netcode.Channel, m *frame.RoomInput) error {
	if len(m.Data) > h.cfg.MaxInputSize {
		h.drops.tooLarge.Add(1)
		return &netcode.CodedError{Code: netcode.CodeInputTooLarge, Msg: fmt.Sprintf("input of %d bytes, limit %d", len(m.Data), h.cfg.MaxInputSize), Err: ErrInputTooLarge}
	}
	s.mu.Lock()
	e := s.rooms[m.RoomID]
	s.mu.Unlock()
	if e == nil {
		h.drops.notMember.Add(1)
		return ErrNotInRoom
	}
	if !s.inputs.AllowN(now, 1) {
		h.drops.rateLimited.Add(1)
		return ErrInputRateLimit
	}
	return e.run.enqueue(op{kind: opInput, sess: s, ref: m.Ref, ch: ch, seq: m.Seq}, m.Data)
}

// reserve takes a seat in e for s. Called with h.mu held.
func (h *Hub) reserveLocked(s *session, e *entry) error {
	if e.closed {
		return ErrRoomNotFound
	}
	s.mu.Lock()
	var err error
	switch {
	case s.closed:
		err = netcode.ErrClosed
	case s.rooms[e.id] != nil:
		err = ErrAlreadyInRoom
	case len(s.rooms) >= h.cfg.MaxRoomsPerSession:
		err = ErrTooManyRooms
	case e.seats >= e.cap:
		err = ErrRoomFull
	default:
		e.seats++
		s.rooms[e.id] = e
	}
	s.mu.Unlock()
	if err == nil {
		h.publishLocked(e)
	}
	return err
}

// queueJoin hands a reserved join to the room, undoing the reservation
// if the room closed meanwhile.
func (h *Hub) queueJoin(s *session, e *entry, ref uint32) error {
	if err := e.run.enqueue(op{kind: opJoin, sess: s, ref: ref}, nil); err != nil {
		s.removeRoom(e.id)
		h.releaseSeat(e)
		return err
	}
	return nil
}

// joinByID joins a room open here, or answers with a redirect to the
// node that owns it.
func (h *Hub) joinByID(s *session, id uint64, ref uint32) error {
	err := h.joinLocal(s, id, ref)
	if !errors.Is(err, ErrRoomNotFound) || h.cfg.Directory == nil {
		return err
	}
	r, err := h.cfg.Directory.RedirectByID(s.peer.UserID(), id)
	if err != nil {
		return err
	}
	s.redirect(r, ref)
	return nil
}

// joinLocal joins a room open on this node.
func (h *Hub) joinLocal(s *session, id uint64, ref uint32) error {
	h.mu.Lock()
	e := h.rooms[id]
	var err error = ErrRoomNotFound
	if e != nil {
		err = h.reserveLocked(s, e)
	}
	h.mu.Unlock()
	if err != nil {
		return err
	}
	return h.queueJoin(s, e, ref)
}

func (h *Hub) joinOrCreate(now time.Time, s *session, cfg room.Config, ref uint32) error {
	key := matchKey{cfg.Type, cfg.Label}
	// Held until the new room is in the directory: a concurrent call for
	// the same key then finds it instead of creating a second one.
	ml := h.matchLock(key)
	ml.Lock()
	defer ml.Unlock()
	h.mu.Lock()
	var best *entry
	for e := range h.byKey[key] {
		if e.closed || e.seats >= e.cap || s.inRoom(e.id) {
			continue
		}
		if best == nil || e.seats < best.seats || (e.seats == best.seats && e.seq < best.seq) {
			best = e
		}
	}
	var err error
	if best != nil {
		err = h.reserveLocked(s, best)
	}
	h.mu.Unlock()
	if best == nil && h.cfg.Directory != nil && !cfg.Private {
		// No seat here: the emptiest matching room on another node, if
		// any, else a new room here.
		r, err := h.cfg.Directory.RedirectMatch(s.peer.UserID(), cfg.Type, cfg.Label, s.inRoom)
		if err != nil {
			return err
		}
		if r != nil {
			s.redirect(r, ref)
			return nil
		}
	}
	if best == nil {
		return h.createAndJoin(now, s, cfg, ref)
	}
	if err != nil {
		return err
	}
	return h.queueJoin(s, best, ref)
}

func (s *session) inRoom(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id] != nil
}

func (s *session) removeRoom(id uint64) {
	s.mu.Lock()
	delete(s.rooms, id)
	s.mu.Unlock()
}

func (h *Hub) createAndJoin(now time.Time, s *session, cfg room.Config, ref uint32) error {
	s.mu.Lock()
	full := len(s.rooms) >= h.cfg.MaxRoomsPerSession
	s.mu.Unlock()
	if full {
		return ErrTooManyRooms
	}
	_, err := h.create(now, cfg, s, ref)
	return err
}

// CreateRoom creates an empty room from cfg (zero fields take the hub's
// defaults; cfg.ID is assigned) and returns its id. The room closes after
// its empty timeout unless someone joins. The label must pass
// frame.CleanText (it is stored normalized). Rooms created here are the
// embedder's: the client limits (MaxRoomsCreatedPerUser, MaxRooms,
// MaxClientTickRate, EmptyRoomTTL) do not apply to them.
func (h *Hub) CreateRoom(cfg room.Config) (uint64, error) {
	label, err := frame.CleanText(frame.TextRoomLabel, cfg.Label)
	if err != nil {
		return 0, err
	}
	cfg.Label = label
	if err := h.fill(&cfg); err != nil {
		return 0, err
	}
	e, err := h.create(h.cfg.Clock(), cfg, nil, 0)
	if err != nil {
		return 0, err
	}
	return e.id, nil
}

// create builds a room and hands it to a worker. With a session, the
// room is client-created: it must fit the creation limits and counts
// against them until it closes, and the session's seat is reserved and
// its join queued before any worker sees the room.
func (h *Hub) create(now time.Time, cfg room.Config, s *session, ref uint32) (*entry, error) {
	h.mu.Lock()
	typ := h.types[cfg.Type]
	closed := h.closed
	var limitErr error
	if s != nil && !closed && typ != nil {
		// Refuse early, before the factory runs; checked again below.
		limitErr = h.mayCreateLocked(s.creator)
	}
	var id uint64
	// Ids are random 64-bit numbers, unique in the cluster: one that
	// another node has is drawn again (docs/CLUSTER.md).
	for id == 0 || h.rooms[id] != nil || (h.cfg.Directory != nil && h.cfg.Directory.Known(id)) {
		id = rand.Uint64()
	}
	h.mu.Unlock()
	if closed {
		return nil, ErrHubClosed
	}
	if h.draining.Load() {
		h.refused.draining.Add(1)
		return nil, ErrDraining
	}
	if limitErr != nil {
		return nil, limitErr
	}
	if typ == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, cfg.Type)
	}
	cfg.ID = id
	handler, err := newHandler(typ.factory, cfg)
	if err != nil {
		h.logCrash(cfg, err)
		return nil, err
	}
	r, err := room.New(cfg, handler, now)
	if err != nil {
		h.logCrash(cfg, err)
		return nil, err
	}
	e := &entry{
		id: id, seq: h.seq.Add(1), typ: typ, key: matchKey{cfg.Type, cfg.Label},
		cap: cfg.Capacity, rate: cfg.TickRate, priv: cfg.Private,
	}
	e.run = newRoomRun(h, e, r)

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	if h.rooms[id] != nil { // the same random id drawn twice meanwhile
		return nil, netcode.Errorf(netcode.CodeInternal, "room id collision")
	}
	if s != nil {
		if err := h.mayCreateLocked(s.creator); err != nil {
			return nil, err
		}
		if err := h.reserveLocked(s, e); err != nil {
			return nil, err
		}
		e.creator = s.creator
		h.created[e.creator]++
		h.clientRooms++
		// The run is not yet shared: this cannot fail.
		_ = e.run.enqueue(op{kind: opJoin, sess: s, ref: ref}, nil)
	}
	h.rooms[id] = e
	if !e.priv {
		set := h.byKey[e.key]
		if set == nil {
			set = map[*entry]struct{}{}
			h.byKey[e.key] = set
		}
		set[e] = struct{}{}
	}
	h.publishLocked(e)
	typ.stats.created.Add(1)
	typ.stats.rooms.Add(1)
	h.leastLoaded().add(e.run)
	return e, nil
}

// mayCreateLocked checks the creation limits for a client-created room
// counted against creator, counting a refusal. Called with h.mu held.
func (h *Hub) mayCreateLocked(creator string) error {
	elsewhere := 0
	if h.cfg.Directory != nil {
		elsewhere = h.cfg.Directory.CreatedElsewhere(creator)
	}
	switch {
	case h.created[creator]+elsewhere >= h.cfg.MaxRoomsCreatedPerUser:
		h.refused.userLimit.Add(1)
		return ErrUserRoomLimit
	case h.clientRooms >= h.cfg.MaxRooms:
		h.refused.serverLimit.Add(1)
		return ErrServerRoomLimit
	}
	return nil
}

// newHandler calls a room type's factory, turning a panic into an error.
func newHandler(f room.Factory, cfg room.Config) (hd room.Handler, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &room.PanicError{Value: v, Stack: debug.Stack(), In: "Factory"}
		}
	}()
	hd, err = f(cfg)
	var coded *netcode.CodedError
	if errors.As(err, &coded) && coded.Code != netcode.CodeBadRoomConfig {
		// A refusal with its own code (CodeVoiceRoomTooLarge) keeps it.
		return nil, fmt.Errorf("%w: %w", err, ErrBadRoomSettings)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRoomSettings, err)
	}
	if hd == nil {
		return nil, fmt.Errorf("%w: factory of %q returned no handler", ErrBadRoomSettings, cfg.Type)
	}
	return hd, nil
}

func (h *Hub) leastLoaded() *shard {
	best := h.shards[0]
	for _, s := range h.shards[1:] {
		if s.load.Load() < best.load.Load() {
			best = s
		}
	}
	return best
}

func (h *Hub) leave(s *session, id uint64, ref uint32) error {
	s.mu.Lock()
	e := s.rooms[id]
	delete(s.rooms, id)
	s.mu.Unlock()
	if e == nil {
		return ErrNotInRoom
	}
	s.detachAudio(id, false)
	if err := e.run.enqueue(op{kind: opLeave, sess: s, ref: ref}, nil); err != nil {
		// The room closed meanwhile: the session is out of it anyway.
		h.releaseSeat(e)
		s.reply(&frame.OK{Ref: ref})
	}
	return nil
}

// CloseRoom closes a room: members get RoomClosed with code and message.
func (h *Hub) CloseRoom(id uint64, code netcode.Code, message string) error {
	h.mu.Lock()
	e := h.rooms[id]
	h.mu.Unlock()
	if e == nil {
		return ErrRoomNotFound
	}
	return e.run.enqueue(op{kind: opClose, code: code, msg: message}, nil)
}

// ListRooms lists open public rooms matching typ and label (empty matches
// any), at most limit (0 or above MaxListed: MaxListed): this node's,
// oldest first, then, on a node of a cluster, the other live nodes' from
// the directory's replica, in room id order.
func (h *Hub) ListRooms(typ, label string, limit int) []frame.RoomInfo {
	if limit <= 0 || limit > h.cfg.MaxListed {
		limit = h.cfg.MaxListed
	}
	h.mu.Lock()
	var found []*entry
	for _, e := range h.rooms {
		if e.priv || e.closed || (typ != "" && e.key.typ != typ) || (label != "" && e.key.label != label) {
			continue
		}
		found = append(found, e)
	}
	slices.SortFunc(found, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	if len(found) > limit {
		found = found[:limit]
	}
	out := make([]frame.RoomInfo, len(found))
	for i, e := range found {
		out[i] = frame.RoomInfo{RoomID: e.id, Type: e.key.typ, Label: e.key.label,
			Members: uint16(e.seats), Capacity: uint16(e.cap), TickRate: uint8(e.rate)}
	}
	h.mu.Unlock()
	if h.cfg.Directory != nil && len(out) < limit {
		// The other nodes' rooms after this node's: a join of one by id
		// is redirected to its owner.
		out = append(out, h.cfg.Directory.ListRooms(typ, label, limit-len(out))...)
	}
	return out
}

func (h *Hub) releaseSeat(e *entry) {
	h.mu.Lock()
	if e.seats > 0 {
		e.seats--
		h.publishLocked(e)
	}
	h.mu.Unlock()
}

// tryExpire marks an empty room closed unless a join is queued to it.
func (h *Hub) tryExpire(e *entry) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.seats > 0 {
		return false
	}
	h.removeLocked(e)
	return true
}

func (h *Hub) remove(e *entry) {
	h.mu.Lock()
	h.removeLocked(e)
	h.mu.Unlock()
}

func (h *Hub) removeLocked(e *entry) {
	if e.closed {
		return
	}
	e.closed = true
	delete(h.rooms, e.id)
	if h.cfg.Directory != nil {
		h.cfg.Directory.Unpublish(e.id)
	}
	if e.creator != "" {
		h.clientRooms--
		if h.created[e.creator]--; h.created[e.creator] <= 0 {
			delete(h.created, e.creator)
		}
	}
	if set := h.byKey[e.key]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(h.byKey, e.key)
		}
	}
}

func (s *session) reply(f frame.Frame) {
	if b, err := frame.Marshal(f); err == nil {
		s.peer.Send(netcode.Reliable, b)
	}
}

func (h *Hub) logCrash(cfg room.Config, err error) {
	var pe *room.PanicError
	if errors.As(err, &pe) {
		h.cfg.Logger.Error("room handler panicked", "type", cfg.Type, "room", cfg.ID, "in", pe.In,
			"panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	}
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() Stats {
	st := Stats{Types: map[string]TypeStats{}}
	h.mu.Lock()
	st.Rooms = len(h.rooms)
	st.ClientRooms = h.clientRooms
	types := make([]*roomType, 0, len(h.types))
	for _, t := range h.types {
		types = append(types, t)
	}
	h.mu.Unlock()
	for _, t := range types {
		st.Types[t.name] = t.stats.snapshot()
	}
	h.sessions.Range(func(any, any) bool { st.Sessions++; return true })
	st.Drops = Drops{
		InboxFull: h.drops.inboxFull.Load(), RateLimited: h.drops.rateLimited.Load(),
		TooLarge: h.drops.tooLarge.Load(), NotMember: h.drops.notMember.Load(),
		Unanswered: h.drops.unanswered.Load(),
	}
	st.Refused = h.refused.snapshot()
	st.Voice = h.voice.Snapshot()
	st.Audio = h.audio.snapshot()
	return st
}

// ServiceStats implements service.StatsReporter: the engine serves
// Stats as JSON under "services"."rooms" in GET /v1/stats.
func (h *Hub) ServiceStats() any { return h.Stats() }

// ResetTimings clears the tick duration and lateness histograms (after a
// warm-up, in benchmarks).
func (h *Hub) ResetTimings() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.types {
		t.stats.tickTime.reset()
		t.stats.lateness.reset()
	}
}

// Run drives the tick workers until ctx is cancelled, then closes every
// room (CodeServerShutdown) and returns once all workers have ended. It
// implements service.Runner; call it once.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.running || h.closed {
		h.mu.Unlock()
		return ErrHubClosed
	}
	h.running = true
	h.mu.Unlock()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range h.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(stop)
		}()
	}
	<-ctx.Done()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	close(stop)
	wg.Wait()
	return nil
}
