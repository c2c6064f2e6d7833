package impair

import (
	"math/rand/v2"
	"time"
)

// DropReason says why the proxy dropped a packet.
type DropReason uint8

// Drop reasons; each has its own counter in DirStats.
const (
	DropLoss           DropReason = iota // the configured random or burst loss
	DropQueueFull                        // MaxQueue packets were already waiting
	DropTooManyClients                   // the UDP client table was full
	DropWriteError                       // the socket refused the packet
	DropClosed                           // still queued when the proxy closed, or its client expired
	NumDropReasons
)

var dropNames = [NumDropReasons]string{"loss", "queue_full", "too_many_clients", "write_error", "closed"}

// String names the reason.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Verdict is what a Link decided for one packet.
type Verdict struct {
	// N is the number of deliveries: 0 (dropped), 1, or 2 (duplicated).
	N int
	// At holds the delivery times of the first N deliveries.
	At [2]time.Time
	// Drop is the reason when N == 0.
	Drop DropReason
	// Reordered and Duplicated report the decisions taken.
	Reordered, Duplicated bool
}

// Link is the sans-IO impairment core of one direction. It never reads the
// clock or touches a socket: the caller passes the time and the number of
// packets already queued. It is not safe for concurrent use.
type Link struct {
	d        Direction
	rng      *rand.Rand
	maxQueue int
	inOrder  bool // never deliver before an earlier packet (TCP)
	burst    burstState

	linkFree time.Time // when the bottleneck finishes sending what it holds
	lastDue  time.Time // latest delivery time handed out (inOrder)
}

// LinkConfig configures one Link. The zero value (beside Direction) is a
// valid choice for every field.
type LinkConfig struct {
	// Direction is the impairment applied.
	Direction Direction
	// Seed and Stream select the random sequence: Stream separates the
	// sequences of links built from the same seed (the proxies use 1 for
	// Up and 2 for Down).
	Seed   int64
	Stream uint64
	// MaxQueue bounds the packets waiting; <= 0 means unbounded.
	MaxQueue int
	// InOrder keeps deliveries in arrival order, as a stream (TCP) needs:
	// jitter then only spreads the gaps. Otherwise jitter and Reorder may
	// deliver a packet before an earlier one.
	InOrder bool
}

// NewLink returns the core for one direction.
func NewLink(cfg LinkConfig) *Link {
	return &Link{
		d:        cfg.Direction.populate(),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), cfg.Stream)),
		maxQueue: cfg.MaxQueue,
		inOrder:  cfg.InOrder,
	}
}

// Decide returns the fate of a packet of size bytes that arrives at now,
// with queued packets of this direction already waiting. Every call draws
// the same number of random values whatever the outcome (four, and a
// fifth for the burst state when Direction.Burst is set, so that adding
// the burst model changed no existing seed's decisions): the decisions
// for packet i depend only on the seed and i.
func (l *Link) Decide(now time.Time, size int, queued int) Verdict {
	rLoss, rJitter, rReorder, rDup := l.rng.Float64(), l.rng.Float64(), l.rng.Float64(), l.rng.Float64()
	d := &l.d
	loss := d.Loss
	if !d.Burst.IsZero() {
		loss = l.burst.step(&d.Burst, l.rng.Float64())
	}
	if rLoss < loss {
		return Verdict{Drop: DropLoss}
	}
	if l.maxQueue > 0 && queued >= l.maxQueue {
		return Verdict{Drop: DropQueueFull}
	}
	// Bottleneck: the packet waits for the ones before it, then takes
	// its own serialisation time.
	depart := now
	if d.BandwidthBps > 0 {
		if l.linkFree.After(depart) {
			depart = l.linkFree
		}
		depart = depart.Add(time.Duration(int64(size) * int64(time.Second) / int64(d.BandwidthBps)))
		l.linkFree = depart
	}
	delay := d.Delay
	if d.Jitter > 0 {
		delay += time.Duration((2*rJitter - 1) * float64(d.Jitter))
		delay = max(delay, 0)
	}
	v := Verdict{N: 1}
	if rReorder < d.Reorder {
		delay += d.ReorderDelay
		v.Reordered = true
	}
	due := depart.Add(delay)
	if l.inOrder && due.Before(l.lastDue) {
		due = l.lastDue
	}
	if due.After(l.lastDue) {
		l.lastDue = due
	}
	v.At[0] = due
	if rDup < d.Duplicate && (l.maxQueue <= 0 || queued+1 < l.maxQueue) {
		v.N, v.At[1], v.Duplicated = 2, due, true
	}
	return v
}
