package main

import (
	"context"
	"errors"
	"io"
)

func cmdChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("chat: not yet")
}
