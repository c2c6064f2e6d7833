package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// slotDur is the step of the senders' schedule: a player's inputs leave
// within a slot of their due time.
const slotDur = time.Millisecond

// senderConfig is what runSenders needs of a room run.
type senderConfig struct {
	ch      netcode.Channel // the inputs' channel (pings go reliably)
	size    int             // input payload bytes, at least roomHeader
	inputHz int
	// Inputs sent in [measureFrom, measureTo) are marked measured; the
	// senders stop at measureTo.
	measureFrom, measureTo time.Duration
	// tick is called by worker 0 once per slot.
	tick func(now time.Duration)
}

// runSenders has every player send one input per 1/inputHz, and a Ping
// per heartbeat interval of its Welcome (as an SDK client does), until
// measureTo. The players' phases are spread evenly over the period:
// player i is due in slot i*slots/n, so the members of a room, and the
// sessions of a flush group, which are consecutive, go out together.
// GOMAXPROCS workers each own a contiguous range of players and step
// through the slots; a worker that runs late restarts its schedule
// rather than sending a burst.
//
// On a transport with an event loop (netcode.Queuer) a worker queues a
// slot's messages and flushes each flush group once (one batched system
// call for many players); otherwise each message is a WriteMessage.
//
// A player whose send fails stops sending; runSenders returns the number
// of such players and the first error of each worker, and how late the
// slots of the measured window started.
func runSenders(ctx context.Context, clock *roomClock, ps []*player, cfg senderConfig) (senderStats, error) {
	return runSchedule(ctx, clock, len(ps), cfg, func() slotWorker {
		return &playerWorker{sw: newSendWorker(cfg), ps: ps}
	})
}

// slotWorker sends the inputs of one runSchedule worker's players.
type slotWorker interface {
	// send sends player i's input now; an error stops player i.
	send(i int) error
	// flush ends a slot: what send queued leaves.
	flush()
}

// playerWorker is a sendWorker over a run's players.
type playerWorker struct {
	sw *sendWorker
	ps []*player
}

func (w *playerWorker) send(i int) error {
	p := w.ps[i]
	if err := w.sw.send(p); err != nil {
		p.failed = true
		return err
	}
	return nil
}

func (w *playerWorker) flush() { w.sw.flush() }

// runSchedule is runSenders' schedule for n players of any kind: player
// i is due in slot i*slots/n of each input period, GOMAXPROCS workers
// (each made by newWorker) own contiguous ranges of players, and a
// worker that runs more than a period late restarts its schedule. A
// player whose send fails is not sent for again.
func runSchedule(ctx context.Context, clock *roomClock, n int, cfg senderConfig, newWorker func() slotWorker) (senderStats, error) {
	var failed, restarts atomic.Int64
	period := time.Second / time.Duration(cfg.inputHz)
	slots := max(1, int(period/slotDur))
	step := period / time.Duration(slots)
	workers := min(runtime.GOMAXPROCS(0), n)
	errs := make([]error, workers)
	late := make([]*Histogram, workers)
	stopped := make([]bool, n) // entry i is owned by player i's worker
	var wg sync.WaitGroup
	for w := range workers {
		buckets := make([][]int, slots)
		for i := w * n / workers; i < (w+1)*n/workers; i++ {
			s := i * slots / n
			buckets[s] = append(buckets[s], i)
		}
		sw := newWorker()
		late[w] = NewHistogram()
		wg.Go(func() {
			next := clock.now()
			for slot := 0; ; slot = (slot + 1) % slots {
				now := clock.now()
				if now >= cfg.measureTo || ctx.Err() != nil {
					return
				}
				if d := next - now; d > 0 {
					time.Sleep(d)
					now = clock.now()
				}
				measured := now >= cfg.measureFrom
				if measured {
					late[w].Record(max(0, now-next))
				}
				if now-next > period {
					next = now // running late: restart the schedule, no burst
					if measured {
						restarts.Add(1)
					}
				}
				next += step
				for _, i := range buckets[slot] {
					// A reliable send can block up to the transport's write
					// timeout (a server that stopped acknowledging): stop at
					// the end of the run, not after every player's timeout.
					if clock.now() >= cfg.measureTo || ctx.Err() != nil {
						break
					}
					if stopped[i] {
						continue
					}
					if err := sw.send(i); err != nil {
						// A load test reports what broke and goes on: this
						// player stops sending, the others carry on.
						stopped[i] = true
						if errs[w] == nil {
							errs[w] = fmt.Errorf("client %d: %w", i, err)
						}
						failed.Add(1)
					}
				}
				sw.flush()
				if w == 0 && cfg.tick != nil {
					cfg.tick(now)
				}
			}
		})
	}
	wg.Wait()
	st := senderStats{failed: failed.Load(), restarts: restarts.Load(), late: NewHistogram()}
	for _, h := range late {
		st.late.Merge(h)
	}
	return st, errors.Join(errs...)
}

// senderStats is what runSenders tells about its run.
type senderStats struct {
	failed   int64      // players whose send failed (they stopped)
	late     *Histogram // how late each slot of the measured window started
	restarts int64      // slots of the measured window more than a period late: the schedule restarted, inputs were skipped
}

// sendWorker encodes and sends the messages of one runSenders worker.
type sendWorker struct {
	cfg  senderConfig
	enc  *frame.Encoder
	in   frame.RoomInput
	ping frame.Ping
	data []byte
	one  [1][]byte

	// The flush group with messages queued and not yet flushed.
	pending      netcode.Queuer
	pendingGroup int

	queued, flushes int // counters, for tests
}

func newSendWorker(cfg senderConfig) *sendWorker {
	return &sendWorker{cfg: cfg, enc: frame.NewEncoder(), data: make([]byte, cfg.size)}
}

// send sends p's input now (and its Ping when one is due). A message
// that the session refuses because its send window and queue are full
// (netcode.ErrQueueFull: the server is not acknowledging in time) is
// counted and skipped: the generator keeps offering the configured load,
// as players would, and the report says how much the transport refused.
// Any other error ends the player.
func (sw *sendWorker) send(p *player) error {
	now := p.clock.now()
	measured := now >= sw.cfg.measureFrom
	if hb := time.Duration(p.welcome.HeartbeatMs) * time.Millisecond; hb > 0 && now >= p.nextPing {
		if p.nextPing > 0 {
			sw.ping.ClientTimeUs = time.Now().UnixMicro()
			if err := sw.write(p, netcode.Reliable, &sw.ping); err != nil && !errors.Is(err, netcode.ErrQueueFull) {
				return fmt.Errorf("send ping: %w", err)
			}
		}
		p.nextPing = now + hb
	}
	d := sw.data
	binary.BigEndian.PutUint64(d, uint64(now))
	binary.BigEndian.PutUint32(d[8:], p.idx)
	d[12] = 0
	if measured {
		d[12] = 1
	}
	sw.in = frame.RoomInput{RoomID: p.roomID, Seq: p.seq + 1, Data: d}
	err := sw.write(p, sw.cfg.ch, &sw.in)
	switch {
	case errors.Is(err, netcode.ErrQueueFull):
		if measured {
			p.refused.Add(1)
		}
		return nil
	case err != nil:
		return fmt.Errorf("send input: %w", err)
	}
	p.seq++
	if measured {
		p.sent.Add(1)
	}
	return nil
}

// write encodes f and queues it on p's session (flushing the previous
// flush group when p belongs to another), or writes it.
func (sw *sendWorker) write(p *player, ch netcode.Channel, f frame.Frame) error {
	b, err := sw.enc.Encode(f)
	if err != nil {
		return err
	}
	if p.q == nil {
		return p.conn.WriteMessage(ch, b)
	}
	if sw.pending != nil && sw.pendingGroup != p.group {
		sw.flush()
	}
	sw.one[0] = b
	err = p.q.QueueMessages(ch, sw.one[:])
	sw.one[0] = nil
	if err != nil {
		return err
	}
	sw.queued++
	sw.pending, sw.pendingGroup = p.q, p.group
	return nil
}

// flush sends what the pending flush group has queued.
func (sw *sendWorker) flush() {
	if sw.pending == nil {
		return
	}
	sw.pending.Flush()
	sw.pending = nil
	sw.flushes++
}
