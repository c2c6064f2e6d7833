package kcp

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"time"

	kcpgo "github.com/xtaci/kcp-go/v5"

	"github.com/tickwire/tickwire/netcode"
)

// Profile names a set of KCP tuning parameters, so that nobody passes
// kcp-go's positional integers around. The zero value is
// ProfileLowLatency.
type Profile int

const (
	// ProfileLowLatency is kcptun's "fast3": no-delay mode (30 ms minimum
	// RTO), a 10 ms update interval, fast resend after 2 duplicate ACKs,
	// no congestion window, 256-segment windows, 1200-byte datagrams.
	ProfileLowLatency Profile = iota
	// ProfileFEC was ProfileLowLatency plus kcp-go's Reed-Solomon FEC.
	//
	// Deprecated: kcp-go's FEC lives in its UDPSession, which the event
	// loops do not use (docs/DECISIONS.md, "KCP event loops"); the
	// profile now behaves as ProfileLowLatency, and loss is covered by
	// the loss-adaptive redundancy (RedundancyConfig).
	ProfileFEC
	// ProfileBalanced is kcptun's "fast2" (20 ms interval, 128-segment
	// windows): half the idle CPU of ProfileLowLatency per session.
	ProfileBalanced
)

// String names the profile.
func (p Profile) String() string {
	switch p {
	case ProfileLowLatency:
		return "low_latency"
	case ProfileFEC:
		return "fec"
	case ProfileBalanced:
		return "balanced"
	}
	return fmt.Sprintf("profile_%d", int(p))
}

// tuning is what a Profile expands to.
type tuning struct {
	noDelay, interval, resend, nc int
	sndWnd, rcvWnd                int
	mtu                           int // whole UDP payload, our header included
}

func (p Profile) tuning() (tuning, bool) {
	switch p {
	case ProfileLowLatency:
		return tuning{noDelay: 1, interval: 10, resend: 2, nc: 1, sndWnd: 256, rcvWnd: 256, mtu: 1200}, true
	case ProfileFEC:
		return tuning{noDelay: 1, interval: 10, resend: 2, nc: 1, sndWnd: 256, rcvWnd: 256, mtu: 1200}, true
	case ProfileBalanced:
		return tuning{noDelay: 1, interval: 20, resend: 2, nc: 1, sndWnd: 128, rcvWnd: 128, mtu: 1200}, true
	}
	return tuning{}, false
}

// ApplyTo gives a kcp-go session that does not go through this package
// (a baseline measured beside tickwire, such as bare kcp-go in the echo
// benchmarks) this profile's no-delay settings, windows and MTU, with
// write coalescing off as tickwire has it.
func (p Profile) ApplyTo(s *kcpgo.UDPSession) error {
	t, ok := p.tuning()
	if !ok {
		return fmt.Errorf("kcp: unknown profile %d: %w", int(p), ErrConfig)
	}
	s.SetNoDelay(t.noDelay, t.interval, t.resend, t.nc)
	s.SetWindowSize(t.sndWnd, t.rcvWnd)
	s.SetMtu(t.mtu)
	s.SetWriteDelay(false)
	return nil
}

// RedundancyConfig tunes loss-adaptive redundancy: every session measures
// the fraction of its datagrams the peer did not receive (from the peer's
// receive reports) and sends each KCP datagram Level extra times, Level
// rising with loss and falling back, with hysteresis, when loss falls.
// The zero value means the defaults.
type RedundancyConfig struct {
	// Disabled turns redundancy off (level stays 0; loss is still measured).
	Disabled bool
	// Thresholds[i] is the loss rate at or above which level i+1 engages.
	// Default {0.01, 0.04, 0.10, 0.30}: one extra copy once more than
	// about 1 % of datagrams are lost (enough for a round trip's p99 to
	// feel it), two from 4 %, three from 10 % (copies are deferred and
	// dropped once acknowledged, so a third one, due 3 ms after its
	// original, is rarely sent; it spares the 30 ms RTO the 0.3 % of
	// datagrams that lose their original and two copies at 15 % loss).
	// Must be increasing, in (0, 1), and at least MaxLevel long.
	Thresholds []float64
	// MaxLevel caps the number of extra copies (default 3, at most 4).
	MaxLevel int
	// DownFactor: level L steps down once loss < Thresholds[L-1]*DownFactor
	// (default 0.5).
	DownFactor float64
	// HoldDown is the least time spent at a level before stepping down
	// (default 2 s).
	HoldDown time.Duration
	// BudgetBytesPerSec caps the wire bytes spent on redundant copies per
	// session (default 1 MiB/s, enough for two copies of a 1 kHz stream of
	// small messages); copies beyond it are not sent.
	BudgetBytesPerSec int
	// ReportInterval is how often, at most, a receiver reports what it
	// received while datagrams flow (default 50 ms). A report also waits
	// until it covers MinSamples/2 datagrams, or 4 intervals have passed.
	ReportInterval time.Duration
	// MinSamples is the number of datagrams one loss sample covers
	// (default 32).
	MinSamples int
	// StartAtZero starts a session at level 0. By default a session
	// starts at level 1 (when MaxLevel allows), a pessimistic guess that
	// protects its first round trips: MinSamples/4 datagrams without a
	// loss drop it, else the first loss sample revises it without
	// hold-down. Loss that comes with queueing delay (smoothed RTT above
	// twice the minimum plus 30 ms) never raises the level.
	StartAtZero bool
	// SparseRate is the sparse floor: a session that sent fewer than
	// SparseRate KCP datagrams in the last second sends each with at
	// least one extra copy, whatever its loss estimate (default 20;
	// negative turns the floor off). Such a session (chat, a turn-based
	// game, a lobby) forms a loss sample of MinSamples datagrams only
	// every several seconds, so its level would stay at 0 while each lost
	// datagram waits for kcp-go's 30 ms minimum RTO; its copies cost at
	// most SparseRate datagrams a second, and they are metered by the
	// budget like any other. Idle sessions send no KCP datagrams and pay
	// nothing; a 30 Hz game stream (30 inputs and their ACKs a second) is
	// above it.
	SparseRate int
}

// Config configures a Listener or a Dial. The zero value means the
// defaults; Listen and Dial validate it once.
type Config struct {
	// Profile selects the KCP tuning (default ProfileLowLatency).
	Profile Profile
	// MaxMessageSize caps one message (default netcode.DefaultMaxMessageSize).
	MaxMessageSize int
	// HeartbeatInterval is the longest time a session stays silent
	// (default 1 s).
	HeartbeatInterval time.Duration
	// IdleTimeout closes a session that heard nothing from its peer for
	// this long (default 10 s); ReadMessage then returns an error matching
	// netcode.ErrIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds a reliable WriteMessage blocked on a full send
	// window (default 5 s).
	WriteTimeout time.Duration
	// HandshakeTimeout bounds Dial's handshake (default 5 s).
	HandshakeTimeout time.Duration
	// CookieSecret keys the listener's handshake cookies (nil = random).
	// Listeners behind one address (a restart, a fleet) may share it.
	CookieSecret []byte
	// Redundancy tunes loss-adaptive duplication.
	Redundancy RedundancyConfig
	// Logger receives rare events (default: discard).
	Logger *slog.Logger

	// AcceptBacklog is the number of handshaken sessions waiting for
	// Accept (default 128); beyond it new clients are rejected with
	// CodeRateLimited.
	AcceptBacklog int
	// MaxSessions caps a listener's sessions (default 10000).
	MaxSessions int
	// MaxSessionsPerIP caps sessions per source IP (default 0: no cap).
	MaxSessionsPerIP int
	// UnreliableQueue is the per-session inbound unreliable queue length
	// (default 64); when full the oldest message is dropped (queue_full).
	UnreliableQueue int
	// ReadBuffer and WriteBuffer size the UDP socket buffers (default
	// 4 MiB each, best effort; the kernel may cap them).
	ReadBuffer, WriteBuffer int
	// Key is a Listener's static X25519 key (crypto/ecdh): clients agree
	// each session's keys with it (docs/KCP.md, "Encryption"). nil: a
	// fresh key per Listener, which clients that pin the key must learn
	// again after every restart; the server assembly keeps one in its
	// data directory (Transport.KeyFile). Dials ignore it.
	Key *ecdh.PrivateKey
	// ServerKey pins, on a Dial, the server's static X25519 public key
	// (Listener.PublicKey; published at GET /v1/kcp and by -kcp-key).
	// Only a server holding its private key can complete the handshake.
	// nil: the key the server sends in its Cookie is used; sessions are
	// still sealed and forged datagrams refused, but an attacker who can
	// rewrite the handshake as it happens could stand in the middle.
	ServerKey *ecdh.PublicKey
	// Plaintext, on a Dial, asks for a session without encryption: for
	// benchmarks only. A Listener refuses it unless AllowPlaintext.
	Plaintext bool
	// AllowPlaintext lets a Listener accept sessions that ask for no
	// encryption (benchmarks only); by default their Hello is refused
	// with CodeUnsupported.
	AllowPlaintext bool
	// rekeyShift: a session key seals 2^rekeyShift datagrams (0:
	// defaultRekeyShift). Tests lower it on both ends to cross
	// generations quickly.
	rekeyShift uint8

	// Loops is the number of event loops a Listener runs, each with its
	// own socket on the port (SO_REUSEPORT) and its share of the
	// sessions (default GOMAXPROCS: one per core the process may use; 1
	// where the platform has no SO_REUSEPORT, and for ListenPacket).
	Loops int
}

// config is a validated Config plus derived values.
type config struct {
	Config
	tune tuning
}

const maxRedundancyLevel = 4

// defaultThresholds returns a fresh copy of the default redundancy
// thresholds (a shared slice could be changed through one Config).
func defaultThresholds() []float64 { return []float64{0.01, 0.04, 0.10, 0.30} }

func (c Config) populate() (*config, error) {
	t, ok := c.Profile.tuning()
	if !ok {
		return nil, fmt.Errorf("kcp: unknown profile %d: %w", int(c.Profile), ErrConfig)
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = netcode.DefaultMaxMessageSize
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > maxMessageSizeLimit {
		return nil, fmt.Errorf("kcp: MaxMessageSize %d outside 1..%d: %w", c.MaxMessageSize, maxMessageSizeLimit, ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, time.Second)
	def(&c.IdleTimeout, 10*time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.HandshakeTimeout, 5*time.Second)
	if c.HeartbeatInterval < 0 || c.IdleTimeout < 0 || c.WriteTimeout < 0 || c.HandshakeTimeout < 0 {
		return nil, fmt.Errorf("kcp: negative timeout: %w", ErrConfig)
	}
	if c.IdleTimeout <= c.HeartbeatInterval {
		// A peer that heartbeats as configured must never look idle.
		return nil, fmt.Errorf("kcp: IdleTimeout %v must exceed HeartbeatInterval %v: %w", c.IdleTimeout, c.HeartbeatInterval, ErrConfig)
	}
	if c.CookieSecret == nil {
		c.CookieSecret = make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, c.CookieSecret); err != nil {
			return nil, fmt.Errorf("kcp: cookie secret: %w", err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Key != nil && c.Key.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("kcp: Key is not an X25519 key: %w", ErrConfig)
	}
	if c.ServerKey != nil && c.ServerKey.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("kcp: ServerKey is not an X25519 key: %w", ErrConfig)
	}
	if c.Plaintext && c.ServerKey != nil {
		return nil, fmt.Errorf("kcp: Plaintext with a pinned ServerKey: %w", ErrConfig)
	}
	if c.rekeyShift == 0 {
		c.rekeyShift = defaultRekeyShift
	}
	if c.rekeyShift > 31 {
		return nil, fmt.Errorf("kcp: rekey shift %d: %w", c.rekeyShift, ErrConfig)
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&c.AcceptBacklog, 128)
	defInt(&c.MaxSessions, 10000)
	defInt(&c.UnreliableQueue, 64)
	defInt(&c.ReadBuffer, 4<<20)
	defInt(&c.WriteBuffer, 4<<20)
	defInt(&c.Loops, runtime.GOMAXPROCS(0))
	if c.AcceptBacklog < 0 || c.MaxSessions < 0 || c.MaxSessionsPerIP < 0 || c.UnreliableQueue < 0 || c.Loops < 0 || c.Loops > maxLoops {
		return nil, fmt.Errorf("kcp: negative limit: %w", ErrConfig)
	}
	r := &c.Redundancy
	defInt(&r.MaxLevel, 3)
	if r.MaxLevel < 0 || r.MaxLevel > maxRedundancyLevel {
		return nil, fmt.Errorf("kcp: Redundancy.MaxLevel %d outside 0..%d: %w", r.MaxLevel, maxRedundancyLevel, ErrConfig)
	}
	if r.Thresholds == nil {
		r.Thresholds = defaultThresholds()
	} else {
		r.Thresholds = slices.Clone(r.Thresholds) // validated once: the caller's slice must not change it later
	}
	if len(r.Thresholds) < r.MaxLevel {
		return nil, fmt.Errorf("kcp: %d redundancy thresholds for MaxLevel %d: %w", len(r.Thresholds), r.MaxLevel, ErrConfig)
	}
	for i, th := range r.Thresholds {
		if th <= 0 || th >= 1 || (i > 0 && th <= r.Thresholds[i-1]) {
			return nil, fmt.Errorf("kcp: redundancy thresholds must increase within (0,1): %w", ErrConfig)
		}
	}
	if r.DownFactor == 0 {
		r.DownFactor = 0.5
	}
	if r.DownFactor <= 0 || r.DownFactor > 1 {
		return nil, fmt.Errorf("kcp: Redundancy.DownFactor %v outside (0,1]: %w", r.DownFactor, ErrConfig)
	}
	def(&r.HoldDown, 2*time.Second)
	def(&r.ReportInterval, 50*time.Millisecond)
	defInt(&r.BudgetBytesPerSec, 1<<20)
	defInt(&r.MinSamples, 32)
	defInt(&r.SparseRate, 20)
	if r.HoldDown < 0 || r.ReportInterval <= 0 || r.BudgetBytesPerSec < 0 || r.MinSamples < 1 {
		return nil, fmt.Errorf("kcp: bad redundancy config: %w", ErrConfig)
	}
	return &config{Config: c, tune: t}, nil
}

// maxLoops bounds Config.Loops.
const maxLoops = 256

// maxMessageSizeLimit bounds MaxMessageSize: a message must fit KCP's
// receive window (kcp-go refuses larger sends).
const maxMessageSizeLimit = 100 << 10
