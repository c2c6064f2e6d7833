package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// inputQueue is how many stdin lines may wait to be sent; the reader
// blocks beyond that (stdin is flow-controlled, nothing is dropped).
const inputQueue = 64

// roomFlags are the flags of the room commands.
type roomFlags struct {
	forD       time.Duration
	count      int
	unreliable bool
	allTicks   bool
	capacity   int
	tickRate   int
	private    bool
}

// roomCommand is one of the commands that join a room; it decides the
// flags the command takes.
type roomCommand int

const (
	roomJoinID roomCommand = iota // room join-id ID
	roomJoin                      // room join TYPE [LABEL]: the room's settings, if it is created
	roomCreate                    // room create TYPE [LABEL]: the room's settings and --private
)

func (k roomCommand) String() string {
	return [...]string{"room join-id", "room join", "room create"}[k]
}

func (a *app) roomFlagSet(cmd roomCommand) (*flag.FlagSet, *roomFlags) {
	fs := a.flags(cmd.String())
	rf := &roomFlags{}
	fs.DurationVar(&rf.forD, "for", 0, "leave after this long (default: until Ctrl-C)")
	fs.IntVar(&rf.count, "count", 0, "leave after printing N inputs from tick broadcasts (0: no limit)")
	fs.BoolVar(&rf.unreliable, "unreliable", false, "send inputs on the unreliable channel")
	fs.BoolVar(&rf.allTicks, "all-ticks", false, "also print ticks without inputs")
	if cmd != roomJoinID {
		fs.IntVar(&rf.capacity, "capacity", 0, "seats, if the room is created (default: the server's)")
		fs.IntVar(&rf.tickRate, "tick-rate", 0, "ticks per second, if the room is created (default: the server's)")
	}
	if cmd == roomCreate {
		fs.BoolVar(&rf.private, "private", false, "joined by id only, never listed")
	}
	return fs, rf
}

func (a *app) cmdRoomJoin(ctx context.Context, args []string) error {
	return a.roomJoinOrCreate(ctx, roomJoin, args)
}

func (a *app) cmdRoomCreate(ctx context.Context, args []string) error {
	return a.roomJoinOrCreate(ctx, roomCreate, args)
}

// roomJoinOrCreate runs "room join TYPE [LABEL]" (the emptiest open room,
// or a new one) and "room create TYPE [LABEL] [--private]".
func (a *app) roomJoinOrCreate(ctx context.Context, cmd roomCommand, args []string) error {
	fs, rf := a.roomFlagSet(cmd)
	pos, err := a.parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	o := client.RoomOptions{Type: pos[0], Capacity: rf.capacity, TickRate: rf.tickRate, Private: rf.private}
	if len(pos) == 2 {
		o.Label = pos[1]
	}
	return a.roomSession(ctx, rf, func(ctx context.Context, c *client.Client) (*client.Room, error) {
		if cmd == roomCreate {
			return c.CreateRoom(ctx, o)
		}
		return c.JoinOrCreateRoom(ctx, o)
	})
}

func (a *app) cmdRoomJoinID(ctx context.Context, args []string) error {
	fs, rf := a.roomFlagSet(roomJoinID)
	pos, err := a.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil {
		return usageErrorf("room id %q is not a number", pos[0])
	}
	return a.roomSession(ctx, rf, func(ctx context.Context, c *client.Client) (*client.Room, error) {
		return c.JoinRoom(ctx, id)
	})
}

// roomJoinedJSON is the first --json line of a room session.
type roomJoinedJSON struct {
	Type     string       `json:"type"` // "joined"
	RoomID   uint64       `json:"room_id"`
	RoomType string       `json:"room_type"`
	Label    string       `json:"label"`
	TickRate uint8        `json:"tick_rate"`
	Tick     uint64       `json:"tick"`
	Capacity uint16       `json:"capacity"`
	You      uint32       `json:"you"`
	Members  []memberInfo `json:"members"`
}

type memberInfo struct {
	Member uint32 `json:"member"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// tickJSON is a relay tick broadcast in --json output.
type tickJSON struct {
	Type       string      `json:"type"` // "tick"
	RoomID     uint64      `json:"room_id"`
	Tick       uint64      `json:"tick"`
	ServerTime time.Time   `json:"server_time"`
	Channel    string      `json:"channel"` // reliable or unreliable
	Inputs     []inputJSON `json:"inputs"`
}

type inputJSON struct {
	Member uint32 `json:"member"`
	Name   string `json:"name"`
	Seq    uint32 `json:"seq"`
	Data   string `json:"data"`
}

// roomSession joins a room with join, sends every stdin line as an input
// and prints what the room broadcasts until ctx ends (Ctrl-C), --for
// passes, --count inputs were printed, or the room closes.
//
// The stdin reader is a goroutine of this function. When stdin is a
// reader that ends (a pipe that closes, a test's buffer) it is waited for;
// a read blocked on the process's own stdin cannot be interrupted, so
// that one is left to end with the process, which returns right after.
func (a *app) roomSession(ctx context.Context, rf *roomFlags, join func(context.Context, *client.Client) (*client.Room, error)) error {
	ctx, dctx, c, done, err := a.longSession(ctx, rf.forD)
	if err != nil {
		return err
	}
	defer done()
	r, err := join(dctx, c)
	if err != nil {
		return err
	}
	j := r.Joined()
	names := map[uint32]string{}
	members := make([]memberInfo, 0, len(j.Members))
	var list []string
	for _, m := range j.Members {
		names[m.Member] = m.DisplayName
		members = append(members, memberInfo{Member: m.Member, UserID: m.UserID, Name: m.DisplayName})
		list = append(list, fmt.Sprintf("%d %s", m.Member, m.DisplayName))
	}
	a.emit(fmt.Sprintf("joined room %d (type %s%s, %d Hz, %d/%d members: %s) as member %d",
		j.RoomID, j.Type, quoteIf(", label ", j.Label), j.TickRate, len(j.Members), j.Capacity, strings.Join(list, ", "), j.You),
		roomJoinedJSON{Type: "joined", RoomID: j.RoomID, RoomType: j.Type, Label: j.Label, TickRate: j.TickRate,
			Tick: j.Tick, Capacity: j.Capacity, You: j.You, Members: members})
	a.note("each line you type is sent as an input; Ctrl-C leaves the room")

	lines := make(chan string, inputQueue)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := readLines(a.stdin, lines, stop); err != nil {
			readErr <- err
		}
		close(lines)
	}()
	defer func() {
		close(stop)
		if _, isFile := a.stdin.(*os.File); !isFile {
			wg.Wait()
		}
	}()
	defer func() {
		// Leave politely, even after Ctrl-C cancelled ctx.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout())
		defer cancel()
		if c.Err() == nil {
			_ = r.Leave(lctx) // the session ends next anyway, which leaves the room too
		}
	}()

	ch := netcode.Reliable
	if rf.unreliable {
		ch = netcode.Unreliable
	}
	printed := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				lines = nil // stdin ended: keep printing until --for, --count or Ctrl-C
				select {
				case err := <-readErr:
					a.note("stopped reading stdin: %v", err)
				default:
				}
				continue
			}
			if _, err := r.SendInput(ch, []byte(line)); err != nil {
				return err
			}
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err()
			}
			if m.Kind == frame.KindError {
				// A refused input (rate limit, size...): say so and go on;
				// a fatal error closes the session, which ends the loop.
				var e frame.Error
				if err := m.Decode(&e); err == nil {
					a.note("server: %s (%d): %s", e.Code, uint16(e.Code), e.Message)
				}
				continue
			}
			u, isRoom, err := client.DecodeRoomUpdate(m)
			if err != nil {
				return fmt.Errorf("bad room frame from the server: %w", err)
			}
			if !isRoom || !r.Owns(u) {
				continue
			}
			n, done, err := a.printRoomUpdate(u, names, rf)
			if err != nil || done {
				return err
			}
			printed += n
			if rf.count > 0 && printed >= rf.count {
				return nil
			}
		}
	}
}

// printRoomUpdate prints one room push. It returns the number of inputs
// printed and whether the room is gone (with an error unless it closed
// normally).
func (a *app) printRoomUpdate(u client.RoomUpdate, names map[uint32]string, rf *roomFlags) (int, bool, error) {
	switch {
	case u.Tick != nil:
		t := u.Tick
		if len(t.Inputs) == 0 && !rf.allTicks {
			return 0, false, nil
		}
		chName := "reliable"
		if u.Channel == netcode.Unreliable {
			chName = "unreliable"
		}
		tj := tickJSON{Type: "tick", RoomID: t.RoomID, Tick: t.Tick, ServerTime: time.UnixMicro(t.ServerTimeUs).UTC(), Channel: chName, Inputs: []inputJSON{}}
		var b strings.Builder
		fmt.Fprintf(&b, "tick %d", t.Tick)
		if len(t.Inputs) == 0 {
			b.WriteString(" (no inputs)")
		}
		for i, in := range t.Inputs {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s #%d: %s", memberName(names, in.Member), in.Seq, text(in.Data))
			tj.Inputs = append(tj.Inputs, inputJSON{Member: in.Member, Name: names[in.Member], Seq: in.Seq, Data: text(in.Data)})
		}
		if u.Channel == netcode.Unreliable && len(t.Inputs) > 0 {
			b.WriteString("  (unreliable)")
		}
		a.emit(b.String(), tj)
		return len(t.Inputs), false, nil
	case u.Data != nil:
		a.emit(fmt.Sprintf("tick %d data: %s", u.Data.Tick, text(u.Data.Data)),
			map[string]any{"type": "room_data", "room_id": u.Data.RoomID, "tick": u.Data.Tick, "data": text(u.Data.Data)})
		return 0, false, nil
	case u.Event != nil:
		e := u.Event
		if e.Event == frame.RoomEventJoined {
			names[e.Member] = e.DisplayName
		}
		ev := e.Event.String()
		a.emit(fmt.Sprintf("member %d %s %s", e.Member, e.DisplayName, ev),
			map[string]any{"type": "room_event", "event": ev, "room_id": e.RoomID, "member": e.Member, "user_id": e.UserID, "name": e.DisplayName})
		return 0, false, nil
	case u.Closed != nil:
		cl := u.Closed
		a.emit(fmt.Sprintf("room %d closed: %s (%d) %s", cl.RoomID, cl.Code, uint16(cl.Code), cl.Message),
			map[string]any{"type": "room_closed", "room_id": cl.RoomID, "code": uint16(cl.Code), "error": cl.Code.String(), "message": cl.Message})
		if cl.Code == netcode.CodeRoomClosed || cl.Code == netcode.CodeOK {
			return 0, true, nil
		}
		return 0, true, &netcode.CodedError{Code: cl.Code, Msg: cl.Message}
	}
	return 0, false, nil
}

func memberName(names map[uint32]string, m uint32) string {
	if n := names[m]; n != "" {
		return n
	}
	return "member " + strconv.FormatUint(uint64(m), 10)
}

// readLines sends each line of r to lines until r ends or stop closes. A
// line longer than an input may be (frame.MaxRoomInput) ends the reading
// with an error.
func readLines(r io.Reader, lines chan<- string, stop <-chan struct{}) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), frame.MaxRoomInput)
	for sc.Scan() {
		select {
		case lines <- strings.TrimSuffix(sc.Text(), "\r"):
		case <-stop:
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w (an input is at most %d bytes)", err, frame.MaxRoomInput)
	}
	return nil
}

func (a *app) cmdRooms(ctx context.Context, args []string) error {
	fs := a.flags("rooms")
	label := fs.String("label", "", "only rooms with this label")
	limit := fs.Int("limit", 50, fmt.Sprintf("at most N rooms (1-%d)", frame.MaxRoomListed))
	pos, err := a.parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	typ := ""
	if len(pos) == 1 {
		typ = pos[0]
	}
	return a.withClient(ctx, func(ctx context.Context, c *client.Client, _ settings) error {
		rs, err := c.ListRooms(ctx, typ, *label, *limit)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			a.note("no open public rooms: tickctl room join TYPE creates one")
		}
		for _, r := range rs {
			a.emit(fmt.Sprintf("%-8d %-12s %-16q %d/%d members  %d Hz", r.RoomID, r.Type, r.Label, r.Members, r.Capacity, r.TickRate),
				map[string]any{"type": "room", "room_id": r.RoomID, "room_type": r.Type, "label": r.Label,
					"members": r.Members, "capacity": r.Capacity, "tick_rate": r.TickRate})
		}
		return nil
	})
}
