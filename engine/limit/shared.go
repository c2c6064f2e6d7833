package limit

import (
	"context"
	"time"
)

// Shared counts events per key in a place every node of a cluster sees
// (the PostgreSQL store: store.PostgresLimiter), so that a limit meant
// for a whole deployment (login attempts per user, guests per address)
// is not multiplied by the number of nodes. It counts in fixed windows
// rather than token buckets: one row per key, one upsert per event.
// A single node keeps Keyed, in memory.
type Shared interface {
	// Take counts one event of key in the window of length window that
	// holds now, and returns 0 if at most allowed events (this one included)
	// were counted in it; otherwise the time until the window ends (at
	// least 1ms). Refused events count too. An error means the count is
	// unknown: the caller refuses (fails closed).
	Take(ctx context.Context, key string, allowed int, window time.Duration, now time.Time) (time.Duration, error)
}
