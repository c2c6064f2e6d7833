package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// profile is one saved login: PROFILE.json in the config directory, mode
// 0600 (it holds a bearer token). The server settings the login was made
// with are kept too, so later commands reach the same server.
type profile struct {
	HTTP      string    `json:"http,omitempty"`
	Addr      string    `json:"addr,omitempty"`
	Transport string    `json:"transport,omitempty"`
	TLSCA     string    `json:"tls_ca,omitempty"` // the CA file trusted for an https:// server
	Token     string    `json:"token"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username,omitempty"`
	Name      string    `json:"name"`
	Guest     bool      `json:"guest"`
	ExpiresAt time.Time `json:"expires_at"`
}

// maxProfileSize bounds the profile files read.
const maxProfileSize = 64 << 10

// validProfileName keeps profile names to safe file names.
func validProfileName(n string) bool {
	if n == "" || len(n) > 64 || n[0] == '.' {
		return false
	}
	for _, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// configDir picks where profiles live: the flag, TICKCTL_CONFIG_DIR,
// $XDG_CONFIG_HOME/tickctl, then ~/.config/tickctl.
func configDir(flagVal string, getenv func(string) string) (string, error) {
	if flagVal != "" {
		return flagVal, nil
	}
	if d := getenv("TICKCTL_CONFIG_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "tickctl"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no config directory: set --config-dir or TICKCTL_CONFIG_DIR (%w)", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "tickctl"), nil
}

func profilePath(dir, name string) string { return filepath.Join(dir, name+".json") }

// loadProfile reads a saved profile; ok is false when there is none.
func loadProfile(dir, name string) (p profile, ok bool, err error) {
	f, err := os.Open(profilePath(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return profile{}, false, nil
	}
	if err != nil {
		return profile{}, false, fmt.Errorf("reading profile %q: %w", name, err)
	}
	defer f.Close()
	dec := json.NewDecoder(&limitedReader{r: f, n: maxProfileSize})
	if err := dec.Decode(&p); err != nil {
		return profile{}, false, fmt.Errorf("reading profile %q (%s): %w", name, profilePath(dir, name), err)
	}
	return p, true, nil
}

// saveProfile writes p atomically with mode 0600 (directory 0700).
func saveProfile(dir, name string, p profile) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	defer func() {
		// After a successful rename there is nothing to remove.
		if rmErr := os.Remove(tmp.Name()); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("removing a temporary profile file: %w", rmErr))
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving profile: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), profilePath(dir, name)); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	return nil
}

// deleteProfile forgets a saved login; a missing one is no error.
func deleteProfile(dir, name string) error {
	err := os.Remove(profilePath(dir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing profile: %w", err)
	}
	return nil
}

// limitedReader fails reads past n bytes, so that an oversized profile is
// an error rather than a silent truncation.
type limitedReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("profile file too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
