package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// tagged is a frame on ch whose bytes name it.
func tagged(ch netcode.Channel, i int) outFrame {
	return outFrame{ch: ch, b: fmt.Appendf(nil, "%d", i)}
}

// names lists the frames' names.
func names(fs []outFrame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.b)
	}
	return out
}

// A ring allocates nothing until the first push, then grows by doubling
// up to its capacity and no further; full depends on the capacity alone.
func TestRingGrowsToItsCapacity(t *testing.T) {
	cases := map[string]struct {
		capacity int
		sizes    []int // len(items) after each push that grew it
	}{
		"power of two":  {capacity: 32, sizes: []int{4, 8, 16, 32}},
		"uneven":        {capacity: 100, sizes: []int{4, 8, 16, 32, 64, 100}},
		"below minRing": {capacity: 3, sizes: []int{3}},
		"one":           {capacity: 1, sizes: []int{1}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRing(tc.capacity)
			assert.Nil(t, r.items, "no array before the first push")
			var sizes []int
			for i := range tc.capacity {
				require.False(t, r.full(), "full after %d of %d", i, tc.capacity)
				before := len(r.items)
				r.push(tagged(netcode.Reliable, i))
				if len(r.items) != before {
					sizes = append(sizes, len(r.items))
				}
			}
			assert.Equal(t, tc.sizes, sizes)
			assert.True(t, r.full())
			assert.Equal(t, tc.capacity, len(r.items), "never past the capacity")
			for i := range tc.capacity {
				assert.Equal(t, fmt.Sprint(i), string(r.pop().b))
			}
		})
	}
}

// Growing a ring whose frames wrap around its array keeps them in order.
func TestRingGrowsAcrossTheWrap(t *testing.T) {
	r := newRing(64)
	for i := range 4 {
		r.push(tagged(netcode.Reliable, i))
	}
	assert.Equal(t, "0", string(r.pop().b))
	assert.Equal(t, "1", string(r.pop().b))
	for i := 4; i < 11; i++ { // wraps in 4 slots, then grows to 8 and 16
		r.push(tagged(netcode.Reliable, i))
	}
	assert.Equal(t, 16, len(r.items))
	var got []string
	for r.n > 0 {
		got = append(got, string(r.pop().b))
	}
	assert.Equal(t, []string{"2", "3", "4", "5", "6", "7", "8", "9", "10"}, got)
}

// The overflow policies apply at the configured capacity while the arrays
// are still small: the reliable FIFO refuses the frame past it (the
// caller closes the slow consumer), the unreliable ring drops its oldest.
func TestSendQueuePoliciesWhileGrowing(t *testing.T) {
	q := sendQueue{rel: newRing(5), unrel: newRing(3)}
	for i := range 5 {
		res, _ := q.push(tagged(netcode.Reliable, i))
		require.Equal(t, pushed, res, "reliable %d", i)
	}
	res, _ := q.push(tagged(netcode.Reliable, 5))
	assert.Equal(t, rejectedFull, res, "the sixth reliable frame overflows")

	var dropped []string
	for i := 10; i < 15; i++ {
		res, d := q.push(tagged(netcode.Unreliable, i))
		if res == pushedDropped {
			dropped = append(dropped, string(d.b))
		} else {
			require.Equal(t, pushed, res)
		}
	}
	assert.Equal(t, []string{"10", "11"}, dropped, "oldest first")
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "12", "13", "14"}, names(q.drain(nil)))
	assert.Zero(t, q.rel.n+q.unrel.n)

	zero := sendQueue{rel: newRing(1), unrel: newRing(0)}
	res, d := zero.push(tagged(netcode.Unreliable, 1))
	assert.Equal(t, pushedDropped, res, "a zero-capacity ring drops everything")
	assert.Equal(t, "1", string(d.b))
	assert.Nil(t, zero.unrel.items)
}

// An array that stays mostly unused shrinks by half after shrinkAfter
// drains in a row, down to minRing; one busy drain restarts the count.
func TestRingShrinksWhenMostlyUnused(t *testing.T) {
	q := sendQueue{rel: newRing(1024), unrel: newRing(16)}
	for i := range 64 {
		q.push(tagged(netcode.Reliable, i))
	}
	q.drain(nil)
	require.Equal(t, 64, len(q.rel.items))

	trickle := func(drains, frames int) {
		for range drains {
			for i := range frames {
				q.push(tagged(netcode.Reliable, i))
			}
			q.drain(nil)
		}
	}
	trickle(shrinkAfter-1, 1)
	assert.Equal(t, 64, len(q.rel.items), "not before shrinkAfter drains")
	trickle(1, 17) // above a quarter: the count starts again
	trickle(shrinkAfter-1, 16)
	assert.Equal(t, 64, len(q.rel.items), "a busy drain restarts the count")
	trickle(1, 16)
	assert.Equal(t, 32, len(q.rel.items), "halved")
	trickle(10*shrinkAfter, 1)
	assert.Equal(t, minRing, len(q.rel.items), "down to minRing, no further")
	for range 3 * shrinkAfter {
		q.drain(nil) // wake-ups that find nothing change nothing
	}
	assert.Equal(t, minRing, len(q.rel.items))

	q.push(tagged(netcode.Reliable, 1))
	q.drain(nil)
	q.rel.release()
	assert.Nil(t, q.rel.items)
	q.push(tagged(netcode.Reliable, 2)) // a released ring allocates again
	assert.Equal(t, []string{"2"}, names(q.drain(nil)))
}
