package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// A redirect ticket lets one user join one room on one node, once, before
// it expires. The node that redirects issues it; the owner node redeems
// it. Both hold the same key (derived from the nodes' shared token key),
// so no round trip between them is needed. Layout (big-endian), also in
// docs/CLUSTER.md:
//
//	version   1 byte  (1)
//	expiry    8 bytes (Unix milliseconds)
//	room id   8 bytes
//	nonce     8 bytes (random)
//	boot      8 bytes (the owner's incarnation: a restarted owner, which
//	          forgot the nonces it redeemed, refuses its old tickets)
//	node id   1 byte length + bytes (the owner node)
//	user id   1 byte length + bytes
//	mac      16 bytes (HMAC-SHA256 over everything before, truncated)
const (
	ticketVersion = 1
	ticketMACLen  = 16
	// MaxTicketLen bounds a ticket (frame.MaxTicketLen is the wire's).
	MaxTicketLen = 1 + 8 + 8 + 8 + 8 + 1 + 255 + 1 + 255 + ticketMACLen
	// DefaultTicketTTL is how long a ticket is good for.
	DefaultTicketTTL = 10 * time.Second
	// DefaultMaxRedeemed bounds the tickets an owner remembers as used
	// (those not yet expired); past it a redemption is refused with
	// CodeServerBusy until some expire.
	DefaultMaxRedeemed = 1 << 16
)

// ErrTicketsBusy: the used-ticket set is full.
var ErrTicketsBusy = &netcode.CodedError{Code: netcode.CodeServerBusy, Msg: "too many redirects in flight: retry"}

// Ticket is a decoded ticket.
type Ticket struct {
	Expiry time.Time
	RoomID uint64
	Nonce  uint64
	Boot   int64
	NodeID string
	UserID string
}

// Tickets issues and redeems redirect tickets. Safe for concurrent use.
type Tickets struct {
	key         []byte
	node        string
	boot        int64
	ttl         time.Duration
	maxRedeemed int
	now         func() time.Time

	issued, redeemed                                atomic.Uint64
	refusedBad, refusedExpired, refusedReused, busy atomic.Uint64

	mu   sync.Mutex           // guards used
	used map[uint64]time.Time // nonce → expiry, of redeemed tickets not yet expired
}

// TicketConfig configures Tickets.
type TicketConfig struct {
	// Key is the nodes' shared secret (the engine's token key); every
	// node must have the same.
	Key []byte
	// NodeID and Boot are this node and its incarnation: it redeems only
	// tickets naming both.
	NodeID string
	Boot   int64
	// TTL is a ticket's lifetime (default DefaultTicketTTL).
	TTL time.Duration
	// MaxRedeemed bounds the used-ticket set (default DefaultMaxRedeemed).
	MaxRedeemed int
	// Clock (default time.Now).
	Clock func() time.Time
}

// NewTickets returns a ticket issuer and redeemer.
func NewTickets(cfg TicketConfig) (*Tickets, error) {
	if len(cfg.Key) < 16 || !validNodeID(cfg.NodeID) {
		return nil, fmt.Errorf("%w: tickets need a key of 16+ bytes and a node id", ErrBadConfig)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTicketTTL
	}
	if cfg.MaxRedeemed <= 0 {
		cfg.MaxRedeemed = DefaultMaxRedeemed
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	// A key of its own, so that a ticket can never pass for a token.
	mac := hmac.New(sha256.New, cfg.Key)
	mac.Write([]byte("tickwire redirect ticket v1"))
	return &Tickets{key: mac.Sum(nil), node: cfg.NodeID, boot: cfg.Boot, ttl: cfg.TTL, maxRedeemed: cfg.MaxRedeemed,
		now: cfg.Clock, used: map[uint64]time.Time{}}, nil
}

// TTL is a ticket's lifetime.
func (t *Tickets) TTL() time.Duration { return t.ttl }

// Issue makes a ticket for user to join room on node (incarnation boot).
func (t *Tickets) Issue(user string, room uint64, node string, boot int64) ([]byte, error) {
	if len(user) > 255 || len(node) > 255 {
		return nil, fmt.Errorf("cluster: ticket fields too long")
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+8+8+8+8+2+len(node)+len(user)+ticketMACLen)
	b = append(b, ticketVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(t.now().Add(t.ttl).UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, room)
	b = append(b, nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(boot))
	b = append(b, byte(len(node)))
	b = append(b, node...)
	b = append(b, byte(len(user)))
	b = append(b, user...)
	b = append(b, t.sum(b)...)
	t.issued.Add(1)
	return b, nil
}

func (t *Tickets) sum(b []byte) []byte {
	mac := hmac.New(sha256.New, t.key)
	mac.Write(b)
	return mac.Sum(nil)[:ticketMACLen]
}

var errTicketFormat = errors.New("cluster: malformed ticket")

// DecodeTicket parses a ticket's layout without checking its MAC.
func DecodeTicket(b []byte) (Ticket, error) {
	var tk Ticket
	if len(b) < 1+8+8+8+8+2+ticketMACLen || len(b) > MaxTicketLen || b[0] != ticketVersion {
		return tk, errTicketFormat
	}
	body := b[:len(b)-ticketMACLen]
	p := body[1:]
	tk.Expiry = time.UnixMilli(int64(binary.BigEndian.Uint64(p)))
	tk.RoomID = binary.BigEndian.Uint64(p[8:])
	tk.Nonce = binary.BigEndian.Uint64(p[16:])
	tk.Boot = int64(binary.BigEndian.Uint64(p[24:]))
	p = p[32:]
	var ok bool
	if tk.NodeID, p, ok = lenString(p); !ok {
		return tk, errTicketFormat
	}
	if tk.UserID, p, ok = lenString(p); !ok || len(p) != 0 {
		return tk, errTicketFormat
	}
	return tk, nil
}

func lenString(p []byte) (string, []byte, bool) {
	if len(p) < 1 || len(p) < 1+int(p[0]) {
		return "", nil, false
	}
	n := int(p[0])
	return string(p[1 : 1+n]), p[1+n:], true
}

// Redeem checks a ticket presented by user to join room on this node and
// marks it used. Refusals: ErrBadTicket (malformed, bad MAC, another
// user, room, node or incarnation of it), ErrTicketExpired, ErrTicketReused, ErrTicketsBusy.
func (t *Tickets) Redeem(user string, room uint64, b []byte) error {
	tk, err := DecodeTicket(b)
	if err != nil || !hmac.Equal(t.sum(b[:len(b)-ticketMACLen]), b[len(b)-ticketMACLen:]) ||
		tk.UserID != user || tk.RoomID != room || tk.NodeID != t.node || tk.Boot != t.boot {
		t.refusedBad.Add(1)
		return ErrBadTicket
	}
	now := t.now()
	if !now.Before(tk.Expiry) {
		t.refusedExpired.Add(1)
		return ErrTicketExpired
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, used := t.used[tk.Nonce]; used {
		t.refusedReused.Add(1)
		return ErrTicketReused
	}
	if len(t.used) >= t.maxRedeemed {
		for n, exp := range t.used {
			if !now.Before(exp) {
				delete(t.used, n)
			}
		}
		if len(t.used) >= t.maxRedeemed {
			t.busy.Add(1)
			return ErrTicketsBusy
		}
	}
	// An expired ticket is refused before this set is read, so a nonce
	// may be forgotten once its ticket expired.
	t.used[tk.Nonce] = tk.Expiry
	t.redeemed.Add(1)
	return nil
}

// sweep forgets the used tickets that expired (called periodically).
func (t *Tickets) sweep() {
	now := t.now()
	t.mu.Lock()
	for n, exp := range t.used {
		if !now.Before(exp) {
			delete(t.used, n)
		}
	}
	t.mu.Unlock()
}

// TicketStats counts tickets.
type TicketStats struct {
	Issued   uint64 `json:"issued"`
	Redeemed uint64 `json:"redeemed"`
	// Refused by reason: bad (malformed, forged, wrong user/room/node),
	// expired, reused, busy (used-ticket set full).
	RefusedBad     uint64 `json:"refused_bad"`
	RefusedExpired uint64 `json:"refused_expired"`
	RefusedReused  uint64 `json:"refused_reused"`
	RefusedBusy    uint64 `json:"refused_busy"`
	Outstanding    int    `json:"used_remembered"`
}

// Stats returns a snapshot of the ticket counters.
func (t *Tickets) Stats() TicketStats {
	t.mu.Lock()
	n := len(t.used)
	t.mu.Unlock()
	return TicketStats{Issued: t.issued.Load(), Redeemed: t.redeemed.Load(),
		RefusedBad: t.refusedBad.Load(), RefusedExpired: t.refusedExpired.Load(),
		RefusedReused: t.refusedReused.Load(), RefusedBusy: t.busy.Load(), Outstanding: n}
}
