package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLine bounds a password read from stdin.
const maxPasswordLine = 4096

// passwordUse says whether a password is an existing one (login) or a
// new one (register), which a prompt asks for twice.
type passwordUse int

const (
	existingPassword passwordUse = iota
	newPassword
)

// password gets a password: from the flag, TICKCTL_PASSWORD, a prompt
// without echo when stdin is a terminal, or else one line of stdin.
func (a *app) password(flagVal string, use passwordUse) (string, error) {
	if flagVal != "" {
		return flagVal, nil
	}
	if v := a.getenv("TICKCTL_PASSWORD"); v != "" {
		return v, nil
	}
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pw, err := a.promptPassword(f, "Password: ")
		if err != nil {
			return "", err
		}
		if use == newPassword {
			again, err := a.promptPassword(f, "Repeat password: ")
			if err != nil {
				return "", err
			}
			if again != pw {
				return "", usageErrorf("the passwords differ")
			}
		}
		return pw, nil
	}
	pw, err := readLine(a.stdin)
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	if pw == "" {
		return "", usageErrorf("no password: give --password, set TICKCTL_PASSWORD, or write it on stdin")
	}
	return pw, nil
}

// promptPassword prints prompt on stderr and reads a line from the
// terminal f with echo off.
func (a *app) promptPassword(f *os.File, prompt string) (string, error) {
	fmt.Fprint(a.stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(pw) > maxPasswordLine {
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLine)
	}
	return string(pw), nil
}

// readLine reads one line (without its line ending) of at most
// maxPasswordLine bytes. It reads byte by byte so that nothing after the
// line is consumed.
func readLine(r io.Reader) (string, error) {
	var sb strings.Builder
	var b [1]byte
	empty := 0 // reads that returned nothing and no error
	for sb.Len() <= maxPasswordLine {
		n, err := r.Read(b[:])
		if n == 0 && err == nil {
			if empty++; empty >= 100 {
				return "", io.ErrNoProgress
			}
			continue
		}
		if n == 1 {
			if b[0] == '\n' {
				return strings.TrimSuffix(sb.String(), "\r"), nil
			}
			sb.WriteByte(b[0])
			continue
		}
		if errors.Is(err, io.EOF) {
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("line longer than %d bytes", maxPasswordLine)
}
