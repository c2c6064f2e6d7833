// Package limit is tickwire's one rate limiter for things counted per key
// (per IP, per user, per username): a bounded set of token buckets from
// golang.org/x/time/rate. A limit on one object that already has an owner
// (a session's frame rate) uses rate.Limiter directly; anything keyed by
// what a stranger chooses goes through Keyed, whose key count is capped so
// that an attacker cycling keys costs a bounded amount of memory.
//
// Time is a parameter: callers pass now, so tests drive it.
// Every method is safe for concurrent use.
package limit

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds a Keyed's key count when its Config leaves it zero.
const DefaultMaxKeys = 100_000

// Per is a rate of n events per period.
func Per(n int, period time.Duration) rate.Limit {
	if n <= 0 || period <= 0 {
		return 0
	}
	return rate.Limit(float64(n) / period.Seconds())
}

// Keyed is a set of token buckets keyed by K. A new key starts with a full
// bucket. When a new key arrives at a full set, the least recently used
// key is forgotten (counted as evicted): it starts full if it comes back,
// so MaxKeys must exceed the number of keys active within one refill time.
type Keyed[K comparable] struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex // guards the fields below
	keys    map[K]*list.Element
	lru     list.List // of *entry[K], most recently used at the front
	allowed uint64
	refused uint64
	evicted uint64
}

type entry[K comparable] struct {
	key K
	lim *rate.Limiter
}

// NewKeyed allows burst events at once per key, refilled at r per second,
// for at most maxKeys keys (DefaultMaxKeys when zero). r == rate.Inf
// allows everything; r == 0 with burst 0 refuses everything.
func NewKeyed[K comparable](r rate.Limit, burst, maxKeys int) *Keyed[K] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Keyed[K]{limit: r, burst: burst, max: maxKeys, keys: make(map[K]*list.Element)}
}

// Allow takes one token from key's bucket at now, reporting whether there
// was one.
func (k *Keyed[K]) Allow(key K, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	ok := k.get(key).AllowN(now, 1)
	if ok {
		k.allowed++
	} else {
		k.refused++
	}
	return ok
}

// Wait reports how long from now until key's bucket holds a whole token
// (0 if it has one): a Retry-After for a refusal. It takes nothing.
func (k *Keyed[K]) Wait(key K, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	lim := k.get(key)
	if lim.TokensAt(now) >= 1 || k.limit == rate.Inf {
		return 0
	}
	if k.limit <= 0 {
		return time.Duration(1<<63 - 1)
	}
	missing := 1 - lim.TokensAt(now)
	return time.Duration(missing / float64(k.limit) * float64(time.Second))
}

// get returns key's limiter, creating it (and evicting the least recently
// used key if the set is full); k.mu is held.
func (k *Keyed[K]) get(key K) *rate.Limiter {
	if el, ok := k.keys[key]; ok {
		k.lru.MoveToFront(el)
		return el.Value.(*entry[K]).lim
	}
	if len(k.keys) >= k.max {
		old := k.lru.Back()
		k.lru.Remove(old)
		delete(k.keys, old.Value.(*entry[K]).key)
		k.evicted++
	}
	e := &entry[K]{key: key, lim: rate.NewLimiter(k.limit, k.burst)}
	k.keys[key] = k.lru.PushFront(e)
	return e.lim
}

// Stats is a snapshot of a Keyed's counters.
type Stats struct {
	Keys    int    `json:"keys"`
	Allowed uint64 `json:"allowed"`
	Refused uint64 `json:"refused"`
	Evicted uint64 `json:"evicted"`
}

// Stats returns the current counters.
func (k *Keyed[K]) Stats() Stats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Stats{Keys: len(k.keys), Allowed: k.allowed, Refused: k.refused, Evicted: k.evicted}
}
