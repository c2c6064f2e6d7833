package social

import (
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// rateLimiter is a token bucket per user for sending messages.
type rateLimiter struct {
	rate, burst float64

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// allow takes one token from user's bucket at now.
func (r *rateLimiter) allow(user string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[user]
	if b == nil {
		b = &bucket{tokens: r.burst, at: now}
		r.buckets[user] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(r.burst, b.tokens+d.Seconds()*r.rate)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune forgets buckets that have refilled.
func (r *rateLimiter) prune(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for u, b := range r.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*r.rate >= r.burst {
			delete(r.buckets, u)
		}
	}
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
