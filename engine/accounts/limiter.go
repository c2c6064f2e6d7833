package accounts

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// limiter is a set of token buckets keyed by string (an IP prefix or a
// username key), bounded to max keys: when a new key arrives at a full
// set, the least recently used key is evicted (and counted). A bucket holds
// up to burst tokens and refills at rate tokens per second; an evicted or
// new key starts full. Time is a parameter. Safe for concurrent use.
type limiter struct {
	burst float64
	rate  float64 // tokens per second
	max   int

	mu      sync.Mutex // guards the fields below
	keys    map[string]*list.Element
	lru     list.List // of *bucket, most recently used at the front
	evicted uint64
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// newLimiter allows burst events at once and burst per window on average.
func newLimiter(burst int, window time.Duration, maxKeys int) *limiter {
	return &limiter{
		burst: float64(burst),
		rate:  float64(burst) / window.Seconds(),
		max:   maxKeys,
		keys:  make(map[string]*list.Element),
	}
}

// refill brings b's tokens up to now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
}

// wait reports how long until key has a whole token at now: 0 if it has
// one already. It does not take the token.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.keys[key]
	if !ok {
		return 0
	}
	b := e.Value.(*bucket)
	l.refill(b, now)
	return l.until(b)
}

// allow takes a token from key's bucket at now if it has a whole one and
// returns 0; otherwise it takes nothing and returns how long until it has.
func (l *limiter) allow(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	if b.tokens < 1 {
		return l.until(b)
	}
	b.tokens--
	return 0
}

// take removes one token from key's bucket at now (down to at most zero)
// and reports how long until the next whole token (0 if one is left).
func (l *limiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	b.tokens = math.Max(0, b.tokens-1)
	return l.until(b)
}

// get returns key's bucket refilled to now, creating it full (and evicting
// the least recently used key if the set is full). l.mu must be held.
func (l *limiter) get(key string, now time.Time) *bucket {
	if e, ok := l.keys[key]; ok {
		l.lru.MoveToFront(e)
		b := e.Value.(*bucket)
		l.refill(b, now)
		return b
	}
	if len(l.keys) >= l.max {
		oldest := l.lru.Back()
		l.lru.Remove(oldest)
		delete(l.keys, oldest.Value.(*bucket).key)
		l.evicted++
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.keys[key] = l.lru.PushFront(b)
	return b
}

// until is how long b needs to hold a whole token (0 if it does).
func (l *limiter) until(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
}

// stats reports how many keys are tracked and how many were evicted.
func (l *limiter) stats() (keys int, evicted uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys), l.evicted
}
