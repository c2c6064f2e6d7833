// Package natsbroker adapts a NATS connection to social.Broker: the
// social service's cross-node traffic (docs/CLUSTER.md, "Social across
// nodes") over core NATS subjects.
//
// Every subscription delivers into one bounded channel read by one
// goroutine, so a node with a hundred thousand users online holds one
// goroutine for them, not one per subscription, and the handlers run in
// the order NATS delivered. When the channel is full NATS drops the
// message and counts it on the subscription. Either way — a reconnect or
// a dropped message — the Broker calls its gap function (SetGap; the
// assembly gives it social.Service.BrokerReconnected), and the sessions
// are sent their inbox again from the store. It watches the connection's
// reconnect count and the subscriptions' drops itself, so it leaves the
// connection's handlers to their owner.
package natsbroker

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultQueue is the delivery channel's capacity.
const DefaultQueue = 1 << 16

// Broker is a social.Broker over a NATS connection. Create it with New,
// stop it with Close (before closing the connection).
type Broker struct {
	nc      *nats.Conn
	flush   time.Duration
	ch      chan *nats.Msg
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex // guards the fields below
	handler map[*nats.Subscription]func(string, []byte)
	gap     func()
	dropped int // drops seen on the subscriptions so far
}

// gapPoll is how often the Broker looks for a reconnect; it counts the
// subscriptions' drops every dropPolls of those (one look per
// subscription).
const (
	gapPoll   = 50 * time.Millisecond
	dropPolls = 20
)

// SetGap sets the function called (on the Broker's goroutine) after the
// connection reconnected or NATS dropped messages for a slow consumer.
func (b *Broker) SetGap(f func()) {
	b.mu.Lock()
	b.gap = f
	b.mu.Unlock()
}

// checkGap calls the gap function if the connection reconnected since
// the last check (reconnects) or a subscription dropped messages.
func (b *Broker) checkGap(reconnects *uint64, drops bool) {
	r := b.nc.Stats().Reconnects
	b.mu.Lock()
	more := false
	if drops {
		dropped := 0
		for sub := range b.handler {
			if n, err := sub.Dropped(); err == nil {
				dropped += n
			}
		}
		more = dropped > b.dropped
		b.dropped = dropped
	}
	f := b.gap
	b.mu.Unlock()
	if (r != *reconnects || more) && b.nc.IsConnected() {
		*reconnects = r
		if f != nil {
			f()
		}
	}
}

// New returns a Broker over nc whose delivery channel holds queue
// messages (0: DefaultQueue). Subscribe waits up to flush (0: 2s) for
// the server to confirm a subscription.
func New(nc *nats.Conn, queue int, flush time.Duration) *Broker {
	if queue <= 0 {
		queue = DefaultQueue
	}
	if flush <= 0 {
		flush = 2 * time.Second
	}
	b := &Broker{nc: nc, flush: flush, ch: make(chan *nats.Msg, queue), done: make(chan struct{}),
		handler: map[*nats.Subscription]func(string, []byte){}}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.loop()
	}()
	return b
}

func (b *Broker) loop() {
	tick := time.NewTicker(gapPoll)
	defer tick.Stop()
	reconnects := b.nc.Stats().Reconnects
	for n := 1; ; n++ {
		select {
		case <-b.done:
			return
		case <-tick.C:
			b.checkGap(&reconnects, n%dropPolls == 0)
		case m := <-b.ch:
			b.mu.Lock()
			h := b.handler[m.Sub]
			b.mu.Unlock()
			if h != nil {
				h(m.Subject, m.Data)
			}
		}
	}
}

// Publish implements social.Broker. While the connection is
// reconnecting it refuses rather than buffers: the message is in the
// store, and the receivers resync from it when they reconnect.
func (b *Broker) Publish(subject string, data []byte) error {
	if !b.nc.IsConnected() {
		return nats.ErrConnectionReconnecting
	}
	return b.nc.Publish(subject, data)
}

// Subscribe implements social.Broker: it returns once the server
// confirmed the subscription (a round trip), or with its error.
func (b *Broker) Subscribe(subject string, h func(string, []byte)) (func(), error) {
	if !b.nc.IsConnected() {
		return nil, nats.ErrConnectionReconnecting // not waiting for it
	}
	sub, err := b.nc.ChanSubscribe(subject, b.ch)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.handler[sub] = h
	b.mu.Unlock()
	unsub := func() {
		b.mu.Lock()
		delete(b.handler, sub)
		b.mu.Unlock()
		_ = sub.Unsubscribe()
	}
	if err := b.nc.FlushTimeout(b.flush); err != nil {
		unsub()
		return nil, err
	}
	return unsub, nil
}

// Close stops the delivery goroutine and waits for it.
func (b *Broker) Close() {
	close(b.done)
	b.wg.Wait()
}
