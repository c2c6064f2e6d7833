package memlink

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Direction describes what the link does to datagrams travelling one way.
// The zero value is a perfect link: no loss, no delay.
type Direction struct {
	// Loss is the probability that a datagram is dropped.
	Loss float64
	// Duplicate is the probability that a datagram is delivered twice.
	Duplicate float64
	// Delay is added to every datagram.
	Delay time.Duration
	// Jitter adds a uniform random delay in [0, Jitter); it reorders
	// datagrams closer together than the jitter.
	Jitter time.Duration
	// Reorder is the probability that a datagram is held back by
	// ReorderDelay more, so that later ones overtake it.
	Reorder float64
	// ReorderDelay is the hold-back of a reordered datagram (default
	// Delay + Jitter + 1 ms).
	ReorderDelay time.Duration
}

// Config configures a Link. The zero value is a perfect link seeded with 1.
type Config struct {
	Seed       uint64
	AToB, BToA Direction
	// QueueLen bounds each endpoint's inbound queue (default 1024); a
	// datagram arriving at a full queue is dropped and counted.
	QueueLen int
	// MaxInFlight bounds the datagrams waiting for their delay (default
	// 65536); beyond it datagrams are dropped and counted.
	MaxInFlight int
}

// DirStats counts what happened to datagrams in one direction.
type DirStats struct {
	Sent       uint64 // WriteTo calls accepted
	Lost       uint64 // dropped by Loss
	Duplicated uint64 // extra copies made by Duplicate
	Reordered  uint64 // held back by Reorder
	Delivered  uint64 // put in the receiver's queue
	Overflow   uint64 // dropped: receiver queue or in-flight limit full
}

// Stats is a snapshot of a link's counters.
type Stats struct{ AToB, BToA DirStats }

// Addr is an endpoint's address.
type Addr struct{ name string }

// Network implements net.Addr.
func (a Addr) Network() string { return "memlink" }

// String implements net.Addr.
func (a Addr) String() string { return a.name }

// ErrMisaddressed is returned by WriteTo for an address other than the
// peer's.
var ErrMisaddressed = errors.New("memlink: no such address on this link")

// Link joins two endpoints.
type Link struct {
	a, b *Endpoint

	kick chan struct{} // capacity 1: the heap's head changed
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	rng      *rand.Rand
	dirs     [2]Direction
	inflight pending
	seq      uint64
	stats    [2]DirStats
	maxIn    int
}

// Endpoint is one side of a Link; it implements net.PacketConn.
type Endpoint struct {
	link  *Link
	dir   int // index of the direction this endpoint sends in
	addr  Addr
	peer  *Endpoint
	inbox chan packet
	done  chan struct{}
	once  sync.Once

	dlMu     sync.Mutex // guards deadline
	deadline time.Time
	dlChange chan struct{} // capacity 1

	closed atomic.Bool
}

type packet struct {
	data []byte
	from Addr
}

// New creates a link and starts its scheduler.
func New(cfg Config) *Link {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 1024
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 65536
	}
	l := &Link{
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		dirs:  [2]Direction{cfg.AToB, cfg.BToA},
		maxIn: cfg.MaxInFlight,
	}
	mk := func(dir int, name string) *Endpoint {
		return &Endpoint{link: l, dir: dir, addr: Addr{name}, inbox: make(chan packet, cfg.QueueLen),
			done: make(chan struct{}), dlChange: make(chan struct{}, 1)}
	}
	l.a, l.b = mk(0, "memlink-a"), mk(1, "memlink-b")
	l.a.peer, l.b.peer = l.b, l.a
	l.wg.Add(1)
	go l.run()
	return l
}

// A returns the first endpoint (it sends in direction AToB).
func (l *Link) A() *Endpoint { return l.a }

// B returns the second endpoint (it sends in direction BToA).
func (l *Link) B() *Endpoint { return l.b }

// SetAToB changes the A→B behaviour for datagrams sent from now on.
func (l *Link) SetAToB(d Direction) { l.setDir(0, d) }

// SetBToA changes the B→A behaviour for datagrams sent from now on.
func (l *Link) SetBToA(d Direction) { l.setDir(1, d) }

func (l *Link) setDir(i int, d Direction) {
	l.mu.Lock()
	l.dirs[i] = d
	l.mu.Unlock()
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{AToB: l.stats[0], BToA: l.stats[1]}
}

// Close closes both endpoints, drops datagrams in flight and waits for
// the scheduler. It is idempotent.
func (l *Link) Close() error {
	l.once.Do(func() {
		_ = l.a.Close() // Endpoint.Close always returns nil
		_ = l.b.Close() // Endpoint.Close always returns nil
		close(l.done)
	})
	l.wg.Wait()
	return nil
}

// send applies the direction's impairments to one datagram.
func (l *Link) send(from *Endpoint, b []byte) {
	now := time.Now()
	l.mu.Lock()
	d := l.dirs[from.dir]
	st := &l.stats[from.dir]
	st.Sent++
	if d.Loss > 0 && l.rng.Float64() < d.Loss {
		st.Lost++
		l.mu.Unlock()
		return
	}
	copies := 1
	if d.Duplicate > 0 && l.rng.Float64() < d.Duplicate {
		copies = 2
		st.Duplicated++
	}
	kick := false
	for range copies {
		delay := d.Delay
		if d.Jitter > 0 {
			delay += time.Duration(l.rng.Int64N(int64(d.Jitter)))
		}
		if d.Reorder > 0 && l.rng.Float64() < d.Reorder {
			rd := d.ReorderDelay
			if rd == 0 {
				rd = d.Delay + d.Jitter + time.Millisecond
			}
			delay += rd
			st.Reordered++
		}
		data := append([]byte(nil), b...)
		if delay <= 0 && l.inflight.pendingTo(from.peer) == 0 {
			l.deliverLocked(from, data)
			continue
		}
		if len(l.inflight.items) >= l.maxIn {
			st.Overflow++
			continue
		}
		l.seq++
		heap.Push(&l.inflight, &item{at: now.Add(delay), seq: l.seq, from: from, data: data})
		kick = kick || l.inflight.items[0].seq == l.seq
	}
	l.mu.Unlock()
	if kick {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// deliverLocked puts a datagram in the receiver's queue without blocking.
func (l *Link) deliverLocked(from *Endpoint, data []byte) {
	st := &l.stats[from.dir]
	to := from.peer
	if to.closed.Load() {
		return
	}
	select {
	case to.inbox <- packet{data: data, from: from.addr}:
		st.Delivered++
	default:
		st.Overflow++
	}
}

// run is the scheduler: it delivers every delayed datagram when due.
func (l *Link) run() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l.mu.Lock()
		now := time.Now()
		for len(l.inflight.items) > 0 && !l.inflight.items[0].at.After(now) {
			it := heap.Pop(&l.inflight).(*item)
			l.deliverLocked(it.from, it.data)
		}
		wait := time.Hour
		if len(l.inflight.items) > 0 {
			wait = l.inflight.items[0].at.Sub(now)
		}
		l.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-l.done:
			return
		case <-l.kick:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

type item struct {
	at   time.Time
	seq  uint64
	from *Endpoint
	data []byte
}

// pending is a min-heap of datagrams by due time, then send order.
type pending struct {
	items []*item
	count [2]int // per sending direction
}

func (p *pending) Len() int { return len(p.items) }
func (p *pending) Less(i, j int) bool {
	a, b := p.items[i], p.items[j]
	if a.at.Equal(b.at) {
		return a.seq < b.seq
	}
	return a.at.Before(b.at)
}
func (p *pending) Swap(i, j int) { p.items[i], p.items[j] = p.items[j], p.items[i] }
func (p *pending) Push(x any) {
	it := x.(*item)
	p.count[it.from.dir]++
	p.items = append(p.items, it)
}
func (p *pending) Pop() any {
	n := len(p.items) - 1
	it := p.items[n]
	p.items[n] = nil
	p.items = p.items[:n]
	p.count[it.from.dir]--
	return it
}

// pendingTo counts datagrams in flight towards to.
func (p *pending) pendingTo(to *Endpoint) int { return p.count[to.peer.dir] }

// ReadFrom implements net.PacketConn. A datagram larger than b is
// truncated, as with UDP.
func (e *Endpoint) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		e.dlMu.Lock()
		dl := e.deadline
		e.dlMu.Unlock()
		var timeout <-chan time.Time
		var timer *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, nil, &net.OpError{Op: "read", Net: "memlink", Addr: e.addr, Err: os.ErrDeadlineExceeded}
			}
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		select {
		case p := <-e.inbox:
			if timer != nil {
				timer.Stop()
			}
			return copy(b, p.data), p.from, nil
		case <-e.done:
			if timer != nil {
				timer.Stop()
			}
			return 0, nil, &net.OpError{Op: "read", Net: "memlink", Addr: e.addr, Err: net.ErrClosed}
		case <-timeout:
		case <-e.dlChange:
			if timer != nil {
				timer.Stop()
			}
		}
	}
}

// WriteTo implements net.PacketConn. addr must be the peer's address.
func (e *Endpoint) WriteTo(b []byte, addr net.Addr) (int, error) {
	if e.closed.Load() {
		return 0, &net.OpError{Op: "write", Net: "memlink", Addr: addr, Err: net.ErrClosed}
	}
	if a, ok := addr.(Addr); !ok || a != e.peer.addr {
		return 0, &net.OpError{Op: "write", Net: "memlink", Addr: addr, Err: ErrMisaddressed}
	}
	e.link.send(e, b)
	return len(b), nil
}

// Close implements net.PacketConn: reads return net.ErrClosed and
// datagrams sent to the endpoint are dropped. The link keeps running for
// the other endpoint. Idempotent.
func (e *Endpoint) Close() error {
	e.once.Do(func() {
		e.closed.Store(true)
		close(e.done)
	})
	return nil
}

// LocalAddr implements net.PacketConn.
func (e *Endpoint) LocalAddr() net.Addr { return e.addr }

// SetDeadline implements net.PacketConn (only reads can block).
func (e *Endpoint) SetDeadline(t time.Time) error { return e.SetReadDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (e *Endpoint) SetReadDeadline(t time.Time) error {
	e.dlMu.Lock()
	e.deadline = t
	e.dlMu.Unlock()
	select {
	case e.dlChange <- struct{}{}:
	default:
	}
	return nil
}

// SetWriteDeadline implements net.PacketConn; writes never block.
func (e *Endpoint) SetWriteDeadline(time.Time) error { return nil }

var _ net.PacketConn = (*Endpoint)(nil)
