package accounts

import (
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/engine/limit"
)

// keyLimiter is a limit.Keyed by string (an IP prefix or a username key)
// that answers a refusal with the time to wait, for Retry-After. With a
// Config.Shared limiter the Keyed stays unused and the shared events are
// counted here, so that Stats reports refusals either way.
type keyLimiter struct {
	*limit.Keyed[string]
	shared *sharedCounts
}

// sharedCounts are the events a limit.Shared allowed and refused.
type sharedCounts struct{ allowed, refused atomic.Uint64 }

// stats is the Keyed's snapshot, or the shared counts when shared.
func (l keyLimiter) stats(shared bool) limit.Stats {
	if shared {
		return limit.Stats{Allowed: l.shared.allowed.Load(), Refused: l.shared.refused.Load()}
	}
	return l.Stats()
}

// newKeyLimiter allows perWindow events at once per key and perWindow per
// window on average, for at most maxKeys keys (the least recently used is
// forgotten past it).
func newKeyLimiter(perWindow int, window time.Duration, maxKeys int) keyLimiter {
	return keyLimiter{limit.NewKeyed[string](limit.Per(perWindow, window), perWindow, maxKeys), &sharedCounts{}}
}

// allow takes a token from key's bucket at now and returns 0, or takes
// nothing and returns how long until the bucket holds one (at least 1ms).
func (l keyLimiter) allow(key string, now time.Time) time.Duration {
	if l.Allow(key, now) {
		return 0
	}
	return max(l.Wait(key, now), time.Millisecond)
}
