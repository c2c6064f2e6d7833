package webrtc

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/tickwire/tickwire/netcode"
)

// Defaults applied to zero Config fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultIdleTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultConnectTimeout    = 10 * time.Second
	DefaultMaxOfferBytes     = 16 << 10
	DefaultMaxPending        = 256
	DefaultMaxPendingPerIP   = 8
	DefaultAcceptBacklog     = 128
	DefaultUnreliableQueue   = 16
	DefaultMaxBuffered       = 1 << 20
	DefaultMaxUnreliableBuf  = 64 << 10
	DefaultReceiveBuffer     = 256 << 10
	// DefaultSCTPRTOMax is SCTP's retransmission timeout cap. pion
	// clamps its RTO to [1 s, RTOMax], so a cap below 1 s is the RTO
	// itself: a lost retransmission (which only the RTO recovers) stalls
	// a reliable channel for this long instead of 1 s or more. It stays
	// above the peer's delayed acknowledgement (200 ms) plus a typical
	// round trip, so that an isolated message is not resent spuriously.
	DefaultSCTPRTOMax = 300 * time.Millisecond
	// MaxSCTPRTOMax is the largest SCTPRTOMax a Config may ask for.
	MaxSCTPRTOMax = time.Minute

	// MaxMessageSizeLimit is the largest MaxMessageSize a Config may ask
	// for: each Conn holds two read buffers of about that size.
	MaxMessageSizeLimit = 1 << 20

	// OfferPath is where a Listener mounts its signaling endpoint.
	OfferPath = "/v1/rtc/offer"

	// closeFlushTimeout bounds how long Close waits for the close
	// message to be acknowledged before it aborts the association.
	closeFlushTimeout = 250 * time.Millisecond
	// unreliableGrace is how long a Conn whose unreliable channel failed
	// alone waits for the reliable one to report why before it closes.
	unreliableGrace = time.Second
)

// Config tunes a Listener (Transport) or a Dialer. The zero value means
// the defaults; Listen and Dial validate it once. Fields marked
// "listener" are ignored by a Dialer.
type Config struct {
	// MaxMessageSize is the largest message either channel carries
	// (default: the engine's frame limit through the Transport, else
	// netcode.DefaultMaxMessageSize). The SDP advertises it, plus the
	// unreliable channel's 4-byte header, as a=max-message-size; a peer
	// that sends more is closed with frame_too_large.
	MaxMessageSize int
	// HeartbeatInterval is the ICE keepalive interval: a connectivity
	// check goes out on the selected pair whenever nothing else did for
	// this long (default 1 s).
	HeartbeatInterval time.Duration
	// IdleTimeout: a Conn that received nothing at all (ICE checks and
	// answers included) for this long closes, and ReadMessage returns an
	// error matching netcode.ErrIdleTimeout (default 10 s; it becomes
	// pion's ICE disconnected (30 %) plus failed (70 %) timeouts). Must
	// exceed HeartbeatInterval.
	IdleTimeout time.Duration
	// WriteTimeout bounds a reliable WriteMessage waiting for the send
	// buffer to drain below MaxBuffered; past it the write fails with
	// an error matching netcode.ErrWriteTimeout and code slow_consumer
	// (default 5 s).
	WriteTimeout time.Duration
	// ConnectTimeout bounds the time from the offer (listener) or from
	// Dial's start (dialer) to both data channels open (default 10 s).
	// A PeerConnection that does not get there in time is closed and
	// counted (connect_timeout).
	ConnectTimeout time.Duration
	// MaxBuffered is how many bytes of reliable messages may wait in the
	// SCTP send buffer before WriteMessage waits (default 1 MiB).
	MaxBuffered int
	// MaxUnreliableBuffered is how many bytes of unreliable messages may
	// wait in the SCTP send buffer; above it new unreliable messages are
	// dropped (queue_full) (default 64 KiB).
	MaxUnreliableBuffered int
	// UnreliableQueue is the number of received unreliable messages a
	// Conn keeps for ReadMessage; when full the oldest is dropped
	// (queue_full) (default 16).
	UnreliableQueue int
	// ReceiveBuffer is the SCTP receive buffer per session, which bounds
	// what a peer can make us hold before we read (default 256 KiB, at
	// least 2 × MaxMessageSize).
	ReceiveBuffer int
	// SCTPRTOMax caps SCTP's retransmission timeout, which (pion's RTO
	// minimum being 1 s) is the RTO itself when below 1 s: the longest a
	// reliable message waits when its retransmission is lost too
	// (default 300 ms, pion's own default is 60 s). Raise it on paths
	// whose round trip plus 200 ms exceeds it, or every isolated message
	// is sent twice.
	SCTPRTOMax time.Duration
	// Logger receives the transport's logs and pion's (default: discard).
	Logger *slog.Logger

	// PublicIPs (listener) are the addresses browsers should send to:
	// each replaces the host candidate of the UDP port in every answer
	// (a 1:1 NAT, a cloud VM's public address). Empty: the socket's own
	// addresses.
	PublicIPs []string
	// MaxOfferBytes (listener) caps the body of an offer (default 16 KiB).
	MaxOfferBytes int
	// MaxPending (listener) caps the offers being answered plus the
	// PeerConnections not yet open, over all clients (default 256);
	// beyond it offers get server_busy.
	MaxPending int
	// MaxPendingPerIP (listener) is the same cap per client IP (default
	// 8); beyond it offers get too_many_sessions.
	MaxPendingPerIP int
	// AcceptBacklog (listener) is the number of open sessions waiting
	// for Accept (default 128); beyond it a session is closed with
	// server_busy.
	AcceptBacklog int
	// Certificate (listener) is the DTLS certificate every PeerConnection
	// presents (default: an ECDSA P-256 certificate generated at Listen,
	// valid 30 days and replaced by a fresh one every 24 h).
	Certificate *pion.Certificate
	// AudioSlots (listener) is K, the number of audio tracks a browser
	// voice member receives: at most K members are heard at once
	// (default 4, at most 16). A browser's audio offer carries exactly K
	// audio m-lines (docs/VOICE.md, "Browsers and the SFU").
	AudioSlots int
	// AudioQueue (listener) bounds the frames waiting for one browser
	// voice member's writer (default 64); a full queue drops the new
	// frame (counted audio_queue_full).
	AudioQueue int
}

// MaxAudioSlots is the largest AudioSlots a Config may ask for.
const MaxAudioSlots = 16

// populate fills defaults and validates.
func (c Config) populate() (Config, error) {
	c.MaxMessageSize = cmp.Or(c.MaxMessageSize, netcode.DefaultMaxMessageSize)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, max(DefaultIdleTimeout, 2*c.HeartbeatInterval))
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	c.MaxBuffered = cmp.Or(c.MaxBuffered, DefaultMaxBuffered)
	c.MaxUnreliableBuffered = cmp.Or(c.MaxUnreliableBuffered, DefaultMaxUnreliableBuf)
	c.UnreliableQueue = cmp.Or(c.UnreliableQueue, DefaultUnreliableQueue)
	c.SCTPRTOMax = cmp.Or(c.SCTPRTOMax, DefaultSCTPRTOMax)
	c.ReceiveBuffer = cmp.Or(c.ReceiveBuffer, max(DefaultReceiveBuffer, 2*(c.MaxMessageSize+unreliableHeader)))
	c.MaxOfferBytes = cmp.Or(c.MaxOfferBytes, DefaultMaxOfferBytes)
	c.MaxPending = cmp.Or(c.MaxPending, DefaultMaxPending)
	c.MaxPendingPerIP = cmp.Or(c.MaxPendingPerIP, DefaultMaxPendingPerIP)
	c.AcceptBacklog = cmp.Or(c.AcceptBacklog, DefaultAcceptBacklog)
	c.AudioSlots = cmp.Or(c.AudioSlots, DefaultAudioSlots)
	c.AudioQueue = cmp.Or(c.AudioQueue, DefaultAudioQueue)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	switch {
	case c.MaxMessageSize < 1 || c.MaxMessageSize > MaxMessageSizeLimit:
		return bad("MaxMessageSize %d outside 1..%d", c.MaxMessageSize, MaxMessageSizeLimit)
	case c.HeartbeatInterval < 0, c.IdleTimeout < 0, c.WriteTimeout < 0, c.ConnectTimeout < 0, c.SCTPRTOMax < 0:
		return bad("negative duration")
	case c.SCTPRTOMax < time.Millisecond || c.SCTPRTOMax > MaxSCTPRTOMax:
		return bad("SCTPRTOMax %v outside 1ms..%v", c.SCTPRTOMax, MaxSCTPRTOMax)
	case c.IdleTimeout <= c.HeartbeatInterval:
		return bad("IdleTimeout %v must exceed HeartbeatInterval %v", c.IdleTimeout, c.HeartbeatInterval)
	case c.MaxBuffered < c.MaxMessageSize:
		return bad("MaxBuffered %d below MaxMessageSize %d", c.MaxBuffered, c.MaxMessageSize)
	case c.MaxUnreliableBuffered < 0, c.UnreliableQueue < 0, c.MaxOfferBytes < 0,
		c.MaxPending < 0, c.MaxPendingPerIP < 0, c.AcceptBacklog < 0:
		return bad("negative limit")
	case c.AudioSlots < 1 || c.AudioSlots > MaxAudioSlots || c.AudioQueue < 1:
		return bad("AudioSlots %d outside 1..%d or AudioQueue %d below 1", c.AudioSlots, MaxAudioSlots, c.AudioQueue)
	case c.ReceiveBuffer < c.MaxMessageSize+unreliableHeader:
		return bad("ReceiveBuffer %d below one message of %d bytes", c.ReceiveBuffer, c.MaxMessageSize+unreliableHeader)
	}
	for _, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return bad("PublicIPs: %q is not an IP address", ip)
		}
	}
	return c, nil
}

// Validate reports whether c (after defaults) is usable.
func (c Config) Validate() error {
	_, err := c.populate()
	return err
}

// iceTimeouts splits IdleTimeout into pion's ICE disconnected and failed
// timeouts, whose sum is the time without any packet after which ICE
// fails.
func (c Config) iceTimeouts() (disconnected, failed time.Duration) {
	disconnected = c.IdleTimeout * 3 / 10
	return disconnected, c.IdleTimeout - disconnected
}
