package netcode

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type nopListener struct{}

func (*nopListener) Accept() (Conn, error) { return nil, ErrClosed }
func (*nopListener) Close() error          { return nil }
func (*nopListener) Addr() net.Addr        { return &net.TCPAddr{} }

// A constructor's typed nil on error must not become a non-nil interface.
func TestAsListenerAndAsConnNilOnError(t *testing.T) {
	boom := errors.New("boom")
	l, err := AsListener((*nopListener)(nil), boom)
	require.ErrorIs(t, err, boom)
	assert.True(t, l == nil, "a nil interface, not a nil *nopListener inside one")
	l, err = AsListener(&nopListener{}, nil)
	require.NoError(t, err)
	assert.NotNil(t, l)
}
