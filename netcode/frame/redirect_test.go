package frame

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedirectDocumentedBytes pins the examples in docs/PROTOCOL.md §4,
// "Redirects".
func TestRedirectDocumentedBytes(t *testing.T) {
	b, err := Marshal(&RoomRedirect{Ref: 5, RoomID: 42, NodeID: "n0", URL: "http://10.0.0.1:7780", Ticket: []byte{0xaa, 0xbb}, TTLMs: 10000})
	require.NoError(t, err)
	want := []byte{0x97, 0x1c, 0x05, 0x2a, 0xa2, 0x6e, 0x30, 0xb4}
	want = append(want, "http://10.0.0.1:7780"...)
	want = append(want, 0xc4, 0x02, 0xaa, 0xbb, 0xcd, 0x27, 0x10)
	assert.Equal(t, want, b)
	b, err = Marshal(&RoomJoinTicket{Ref: 6, RoomID: 42, Ticket: []byte{0xaa, 0xbb}})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x94, 0x1d, 0x06, 0x2a, 0xc4, 0x02, 0xaa, 0xbb}, b)
}
