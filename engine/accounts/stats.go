package accounts

import (
	"sync/atomic"

	"github.com/tickwire/tickwire/engine/limit"
)

// counters are the Service's own counts; each is touched with atomics.
type counters struct {
	hashes               atomic.Uint64
	hashQueueFull        atomic.Uint64
	guestRevocationsFull atomic.Uint64
	revocationsSynced    atomic.Uint64
}

// Stats is a snapshot of the accounts service's counters, served under
// "services"."accounts" by the engine's GET /v1/stats. A refusal's reason
// is the field that counts it:
//
//   - login_per_ip.refused, login_per_user.refused: login_rate_limited
//     (204), taken before hashing;
//   - register_per_ip.refused: rate_limited (8) on register;
//   - hash_queue_full: server_busy (22), the hash queue was full;
//   - guest_revocations_full: server_busy (22), a guest logout or refresh
//     found the guest revocation set full.
type Stats struct {
	// Hashes is the number of argon2id jobs run (a login, a register; a
	// login that also rehashes a password counts once).
	Hashes uint64 `json:"hashes"`
	// Hashing is the requests holding or waiting for a hashing slot now.
	Hashing              int64       `json:"hashing"`
	HashQueueFull        uint64      `json:"hash_queue_full"`
	LoginPerIP           limit.Stats `json:"login_per_ip"`
	LoginPerUser         limit.Stats `json:"login_per_user"`
	RegisterPerIP        limit.Stats `json:"register_per_ip"`
	Revoked              int         `json:"revoked"`       // registered users' revocations in force (memory and store)
	GuestRevoked         int         `json:"guest_revoked"` // guests' revocations in force (memory only)
	GuestRevocationsFull uint64      `json:"guest_revocations_full"`
	// RevocationsSynced counts the revocations learnt from other nodes
	// sharing the store (SyncRevocations).
	RevocationsSynced uint64 `json:"revocations_synced"`
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	revoked, guests := len(s.revoked), len(s.guestRevoked)
	s.mu.Unlock()
	return Stats{
		Hashes:               s.stats.hashes.Load(),
		Hashing:              s.hashing.Load(),
		HashQueueFull:        s.stats.hashQueueFull.Load(),
		LoginPerIP:           s.ipLogins.stats(s.shared != nil),
		LoginPerUser:         s.userLogins.stats(s.shared != nil),
		RegisterPerIP:        s.ipRegs.stats(s.shared != nil),
		Revoked:              revoked,
		GuestRevoked:         guests,
		GuestRevocationsFull: s.stats.guestRevocationsFull.Load(),
		RevocationsSynced:    s.stats.revocationsSynced.Load(),
	}
}

// ServiceStats implements service.StatsReporter.
func (s *Service) ServiceStats() any { return s.Stats() }
