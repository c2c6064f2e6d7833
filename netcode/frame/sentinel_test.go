package frame

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Decoding errors match the documented sentinels with errors.Is (they
// share the sentinel's code), so callers need not compare codes.
func TestDecodeErrorsMatchSentinels(t *testing.T) {
	err := Unmarshal([]byte{0x92, 0x15}, &RoomEvent{}) // truncated
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.NotErrorIs(t, err, ErrTooLarge)

	b, err := Marshal(&FriendRequest{Ref: 1, Username: strings.Repeat("x", MaxNameLen+1)})
	require.NoError(t, err)
	err = Unmarshal(b, &FriendRequest{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.NotErrorIs(t, err, ErrMalformed)
}
