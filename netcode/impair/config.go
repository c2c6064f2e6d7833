package impair

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Errors returned by the constructors.
var (
	// ErrBadConfig is an invalid Config value.
	ErrBadConfig = errors.New("impair: invalid config")
	// ErrUnsupported is an impairment the proxy cannot apply: loss,
	// reordering and duplication on the TCP proxy.
	ErrUnsupported = errors.New("impair: impairment not supported by this proxy")
)

// Defaults applied to zero Config fields.
const (
	DefaultMaxQueue   = 4096
	DefaultMaxClients = 1024
	DefaultClientIdle = 30 * time.Second
	// DefaultReorderDelay is the minimum extra delay of a reordered
	// packet; see Direction.ReorderDelay.
	DefaultReorderDelay = 10 * time.Millisecond
)

// Direction is the impairment of one direction of a link.
type Direction struct {
	// Loss is the probability (0..1) that a packet is dropped, each
	// packet independently (Bernoulli). Use Burst instead for loss that
	// comes in runs; a Direction has one or the other.
	Loss float64
	// Burst drops packets in runs, by a Gilbert–Elliott two-state model
	// (zero = none); BurstLoss builds one from a mean loss rate and a mean
	// burst length.
	Burst GilbertElliott
	// Delay is added to every packet; Jitter spreads it uniformly over
	// [Delay-Jitter, Delay+Jitter] (never below zero). On UDP, jitter
	// larger than the gap between packets reorders them, as on a real
	// network; the TCP proxy keeps chunks in order.
	Delay, Jitter time.Duration
	// Reorder is the probability (0..1) that a packet is held back by
	// ReorderDelay so that the packets sent just after it overtake it.
	Reorder float64
	// Duplicate is the probability (0..1) that a packet is delivered
	// twice (the copy right after the original).
	Duplicate float64
	// BandwidthBps caps the throughput in BYTES per second (payload
	// bytes; not bits), 0 = unlimited. Packets queue behind each other
	// for their serialisation time, like at a bottleneck link.
	BandwidthBps int
	// ReorderDelay is the extra delay of a reordered packet (default
	// DefaultReorderDelay + 2*Jitter).
	ReorderDelay time.Duration
}

// IsZero reports whether d impairs nothing.
func (d Direction) IsZero() bool { return d == Direction{} }

func (d Direction) validate(name string) error {
	for _, p := range []struct {
		n string
		v float64
	}{{"Loss", d.Loss}, {"Reorder", d.Reorder}, {"Duplicate", d.Duplicate}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			return fmt.Errorf("%w: %s.%s = %v, want 0..1", ErrBadConfig, name, p.n, p.v)
		}
	}
	if err := d.Burst.validate(); err != nil {
		return fmt.Errorf("%w: %s.Burst: %w", ErrBadConfig, name, err)
	}
	if d.Loss != 0 && !d.Burst.IsZero() {
		return fmt.Errorf("%w: %s has both Loss and Burst; pick one loss model", ErrBadConfig, name)
	}
	if d.Delay < 0 || d.Jitter < 0 || d.ReorderDelay < 0 || d.BandwidthBps < 0 {
		return fmt.Errorf("%w: %s has a negative delay, jitter or bandwidth", ErrBadConfig, name)
	}
	return nil
}

func (d Direction) populate() Direction {
	if d.ReorderDelay == 0 {
		d.ReorderDelay = DefaultReorderDelay + 2*d.Jitter
	}
	return d
}

// Config configures a proxy. The zero value forwards everything untouched.
type Config struct {
	// Up is client->server, Down server->client.
	Up, Down Direction
	// Seed seeds the random source; the same seed and the same packet
	// sequence give the same decisions.
	Seed int64
	// Logger receives proxy events (default: discard).
	Logger *slog.Logger
	// MaxQueue bounds the packets (UDP) or chunks (TCP) waiting in each
	// direction (default DefaultMaxQueue). UDP drops beyond it and counts
	// DropQueueFull; TCP stops reading (back-pressure).
	MaxQueue int
	// MaxClients bounds the UDP proxy's client table (default
	// DefaultMaxClients); packets from further clients are dropped
	// (DropTooManyClients).
	MaxClients int
	// ClientIdle expires a UDP client, and its upstream socket, after
	// this long without a packet in either direction (default
	// DefaultClientIdle).
	ClientIdle time.Duration
}

func (c Config) populate() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.ClientIdle == 0 {
		c.ClientIdle = DefaultClientIdle
	}
	if err := c.Up.validate("Up"); err != nil {
		return c, err
	}
	if err := c.Down.validate("Down"); err != nil {
		return c, err
	}
	if c.MaxQueue < 0 || c.MaxClients < 0 || c.ClientIdle < 0 {
		return c, fmt.Errorf("%w: negative MaxQueue, MaxClients or ClientIdle", ErrBadConfig)
	}
	c.Up, c.Down = c.Up.populate(), c.Down.populate()
	return c, nil
}

// Validate reports whether c is usable by the UDP proxy.
func (c Config) Validate() error {
	_, err := c.populate()
	return err
}

// ForTCP returns c without the impairments TCP cannot show (loss,
// reordering, duplication) and a description of what it removed, empty
// when nothing was. A benchmark that runs the same Config over UDP and TCP
// puts the description in its report.
func (c Config) ForTCP() (Config, string) {
	var removed []string
	strip := func(name string, d *Direction) {
		if d.Loss != 0 {
			removed = append(removed, fmt.Sprintf("%s loss %.3g", name, d.Loss))
		}
		if !d.Burst.IsZero() {
			removed = append(removed, fmt.Sprintf("%s burst loss %s", name, d.Burst))
		}
		if d.Reorder != 0 {
			removed = append(removed, fmt.Sprintf("%s reorder %.3g", name, d.Reorder))
		}
		if d.Duplicate != 0 {
			removed = append(removed, fmt.Sprintf("%s duplicate %.3g", name, d.Duplicate))
		}
		d.Loss, d.Burst, d.Reorder, d.Duplicate, d.ReorderDelay = 0, GilbertElliott{}, 0, 0, 0
	}
	strip("up", &c.Up)
	strip("down", &c.Down)
	if len(removed) == 0 {
		return c, ""
	}
	return c, "not applied over TCP (TCP hides them as retransmission delay): " + strings.Join(removed, ", ")
}

func (c Config) checkTCP() error {
	if _, removed := c.ForTCP(); removed != "" {
		return fmt.Errorf("%w: %s; use Config.ForTCP", ErrUnsupported, removed)
	}
	return nil
}
