package main

import (
	"context"
	"errors"
	"io"
)

func cmdRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("room: not yet")
}
func cmdChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("chat: not yet")
}
func cmdMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("matrix: not yet")
}
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("serve: not yet")
}
