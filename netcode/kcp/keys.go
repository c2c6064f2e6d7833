package kcp

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GenerateKey returns a new static X25519 key for a Listener
// (Config.Key).
func GenerateKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kcp: generate key: %w", err)
	}
	return k, nil
}

// EncodePublicKey is the text form of a server's public key: standard
// base64 of its 32 bytes (44 characters), as GET /v1/kcp and
// -kcp-server-key give it.
func EncodePublicKey(k *ecdh.PublicKey) string {
	return base64.StdEncoding.EncodeToString(k.Bytes())
}

// ParsePublicKey reads EncodePublicKey's form (standard or URL-safe
// base64, padded or not). Errors match ErrConfig.
func ParsePublicKey(s string) (*ecdh.PublicKey, error) {
	s = strings.TrimSpace(s)
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil || len(b) != pubSize {
		return nil, fmt.Errorf("kcp: server key %q is not 32 bytes of base64: %w", s, ErrConfig)
	}
	k, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("kcp: server key: %w: %w", err, ErrConfig)
	}
	return k, nil
}

// LoadOrCreateKeyFile returns the static key kept in path (its 32 raw
// bytes, mode 0600), creating the file with a new key when it does not
// exist, so that a server keeps its key across restarts. A file of
// another size, or readable by others, is an error.
func LoadOrCreateKeyFile(path string) (*ecdh.PrivateKey, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("kcp: key file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("kcp: key file %s is readable by others (mode %v): chmod 600 it: %w", path, st.Mode().Perm(), ErrConfig)
		}
		if len(b) != pubSize {
			return nil, fmt.Errorf("kcp: key file %s holds %d bytes, want 32: %w", path, len(b), ErrConfig)
		}
		k, err := ecdh.X25519().NewPrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("kcp: key file %s: %w: %w", path, err, ErrConfig)
		}
		return k, nil
	case errors.Is(err, fs.ErrNotExist):
		k, err := GenerateKey()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("kcp: key file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) { // another process made it first: use theirs
				return LoadOrCreateKeyFile(path)
			}
			return nil, fmt.Errorf("kcp: key file: %w", err)
		}
		if _, err := f.Write(k.Bytes()); err != nil {
			_ = f.Close() // the write error is the one reported
			return nil, fmt.Errorf("kcp: key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("kcp: key file: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("kcp: key file: %w", err)
	}
}
