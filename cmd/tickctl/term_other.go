//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package main

import "os"

// isTerminal reports false where tickctl cannot switch terminal echo off:
// there the password is read as a line of stdin (or given with --password
// or TICKCTL_PASSWORD).
func isTerminal(*os.File) bool { return false }

// noEcho is not used where isTerminal is always false.
func noEcho(*os.File) (func(), error) { return func() {}, nil }
