package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters. The zero value means
// DefaultArgon2().
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory per hash, in KiB
	Threads   uint8  // lanes
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived key
}

// DefaultArgon2 follows the OWASP Password Storage Cheat Sheet's argon2id
// line "m=19456 (19 MiB), t=2, p=1": about 30–60 ms per hash on one core of
// a current server, and 19 MiB per hash in flight (Config.MaxConcurrentHashes
// bounds how many run at once).
// It is a function, not a variable, so that no caller can change the
// defaults of every other.
func DefaultArgon2() Argon2Params {
	return Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Limits on parameters read back from a stored hash, so a corrupted or
// hostile row cannot make a login allocate gigabytes.
const (
	maxArgonTime      = 16
	maxArgonMemoryKiB = 256 * 1024
	maxArgonThreads   = 16
	maxArgonSalt      = 64
	maxArgonKey       = 64
	minArgonSalt      = 8
	minArgonKey       = 16
)

// errBadHash means a stored hash is not a PHC argon2id string this package
// accepts.
var errBadHash = errors.New("accounts: malformed password hash")

func (p Argon2Params) withDefaults() Argon2Params {
	if p == (Argon2Params{}) {
		return DefaultArgon2()
	}
	return p
}

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2 time %d outside [1, %d]", p.Time, maxArgonTime)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgonMemoryKiB:
		return fmt.Errorf("argon2 memory %d KiB outside [%d, %d]", p.MemoryKiB, 8*uint32(p.Threads), maxArgonMemoryKiB)
	case p.Threads < 1 || p.Threads > maxArgonThreads:
		return fmt.Errorf("argon2 threads %d outside [1, %d]", p.Threads, maxArgonThreads)
	case p.SaltLen < minArgonSalt || p.SaltLen > maxArgonSalt:
		return fmt.Errorf("argon2 salt length %d outside [%d, %d]", p.SaltLen, minArgonSalt, maxArgonSalt)
	case p.KeyLen < minArgonKey || p.KeyLen > maxArgonKey:
		return fmt.Errorf("argon2 key length %d outside [%d, %d]", p.KeyLen, minArgonKey, maxArgonKey)
	}
	return nil
}

// HashPassword hashes password (already normalized by NormalizePassword)
// with a fresh random salt and returns the PHC string
//
//	$argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt, base64 raw std>$<key, base64 raw std>
//
// p must be valid (New validates the configured parameters).
func HashPassword(p Argon2Params, password string) []byte {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails on supported platforms
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return []byte(fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)))
}

// VerifyPassword reports whether password matches the PHC hash encoded,
// comparing in constant time, and whether the hash used parameters other
// than want (so the caller may store a fresh hash). A malformed hash is an
// error, never a match.
func VerifyPassword(encoded []byte, password string, want Argon2Params) (ok, rehash bool, err error) {
	p, salt, key, err := parseHash(string(encoded))
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, p != want, nil
}

// parseHash decodes a PHC argon2id string, refusing parameters outside the
// package limits.
func parseHash(s string) (Argon2Params, []byte, []byte, error) {
	if len(s) > 512 {
		return Argon2Params{}, nil, nil, errBadHash
	}
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Argon2Params{}, nil, nil, errBadHash
	}
	var p Argon2Params
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return Argon2Params{}, nil, nil, errBadHash
	}
	for i, want := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], want)
		if !ok {
			return Argon2Params{}, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Argon2Params{}, nil, nil, errBadHash
		}
		switch i {
		case 0:
			p.MemoryKiB = uint32(n)
		case 1:
			p.Time = uint32(n)
		case 2:
			if n > 255 {
				return Argon2Params{}, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		}
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return Argon2Params{}, nil, nil, errBadHash
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil {
		return Argon2Params{}, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: %w", errBadHash, err)
	}
	return p, salt, key, nil
}
