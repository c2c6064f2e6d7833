package netcode

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWriteFailure(t *testing.T) {
	err := WriteFailure("tcp", 5*time.Second, os.ErrDeadlineExceeded)
	assert.ErrorIs(t, err, ErrWriteTimeout)
	assert.Equal(t, CodeSlowConsumer, CodeOf(err))
	assert.EqualError(t, err, "slow_consumer: tcp: write blocked for 5s")

	err = WriteFailure("tcp", 5*time.Second, errors.New("broken pipe"))
	assert.ErrorIs(t, err, ErrClosed)
	assert.NotErrorIs(t, err, ErrWriteTimeout)
}
