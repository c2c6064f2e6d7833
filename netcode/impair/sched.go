package impair

import (
	"sync"
	"time"
)

// item is one packet waiting for its delivery time.
type item struct {
	due  time.Time
	seq  uint64 // arrival order breaks ties, so equal times keep FIFO order
	data []byte // owned by the scheduler; read-only (a duplicate shares it)
	dst  *udpClient
}

func (a *item) before(b *item) bool {
	if a.due.Equal(b.due) {
		return a.seq < b.seq
	}
	return a.due.Before(b.due)
}

// itemHeap is a binary min-heap on (due, seq). A hand-written heap avoids
// container/heap's boxing of every pushed value.
type itemHeap []item

func (h *itemHeap) push(it item) {
	*h = append(*h, it)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s[i].before(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *itemHeap) pop() item {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = item{}
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].before(&s[m]) {
			m = l
		}
		if r < len(s) && s[r].before(&s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// scheduler delays the packets of one direction: push runs the Link's
// decision and queues the deliveries; run, the direction's only
// goroutine, writes each packet when it falls due.
type scheduler struct {
	deliver func(*item) error // writes one packet; called by run only

	mu    sync.Mutex // guards the fields below
	link  *Link
	heap  itemHeap
	seq   uint64
	stats DirStats

	wake chan struct{} // capacity 1: a new earliest packet
}

func newScheduler(link *Link, deliver func(*item) error) *scheduler {
	return &scheduler{link: link, deliver: deliver, wake: make(chan struct{}, 1)}
}

// push decides the fate of data (which the scheduler now owns) arriving at
// now, bound for dst.
func (s *scheduler) push(now time.Time, data []byte, dst *udpClient) {
	s.mu.Lock()
	s.stats.Packets++
	v := s.link.Decide(now, len(data), len(s.heap))
	if v.N == 0 {
		s.stats.Dropped[v.Drop]++
		s.stats.DroppedBytes += uint64(len(data))
		s.mu.Unlock()
		return
	}
	if v.Reordered {
		s.stats.Reordered++
	}
	if v.Duplicated {
		s.stats.Duplicated++
	}
	earliest := len(s.heap) == 0 || v.At[0].Before(s.heap[0].due)
	for i := 0; i < v.N; i++ {
		s.seq++
		s.heap.push(item{due: v.At[i], seq: s.seq, data: data, dst: dst})
	}
	s.mu.Unlock()
	if earliest {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// drop counts a packet refused before it reached the Link.
func (s *scheduler) drop(r DropReason, size int) {
	s.mu.Lock()
	s.stats.Packets++
	s.stats.Dropped[r]++
	s.stats.DroppedBytes += uint64(size)
	s.mu.Unlock()
}

func (s *scheduler) snapshot() DirStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// run delivers packets as they fall due until done is closed; what is
// still queued then is counted as DropClosed.
func (s *scheduler) run(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []item
	for {
		s.mu.Lock()
		now := time.Now()
		for len(s.heap) > 0 && !s.heap[0].due.After(now) {
			batch = append(batch, s.heap.pop())
		}
		wait := time.Duration(-1)
		if len(s.heap) > 0 {
			wait = s.heap[0].due.Sub(now)
		}
		s.mu.Unlock()

		if len(batch) > 0 {
			var sent, bytes, failed, gone, lost uint64
			for i := range batch {
				err := s.deliver(&batch[i])
				switch {
				case err == nil:
					sent++
					bytes += uint64(len(batch[i].data))
				case batch[i].dst != nil && batch[i].dst.gone.Load():
					gone++
					lost += uint64(len(batch[i].data))
				default:
					failed++
					lost += uint64(len(batch[i].data))
				}
				batch[i] = item{}
			}
			batch = batch[:0]
			s.mu.Lock()
			s.stats.Forwarded += sent
			s.stats.Bytes += bytes
			s.stats.Dropped[DropWriteError] += failed
			s.stats.Dropped[DropClosed] += gone
			s.stats.DroppedBytes += lost
			s.mu.Unlock()
			continue // time has moved on: look again before sleeping
		}

		if wait >= 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-done:
			s.mu.Lock()
			s.stats.Dropped[DropClosed] += uint64(len(s.heap))
			for i := range s.heap {
				s.stats.DroppedBytes += uint64(len(s.heap[i].data))
			}
			s.heap = nil
			s.mu.Unlock()
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}
