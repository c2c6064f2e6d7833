package memlink

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drain reads from e until want datagrams arrived or nothing came for
// quiet, returning the sequence numbers in arrival order.
func drain(t *testing.T, e *Endpoint, want int, quiet time.Duration) []uint32 {
	t.Helper()
	var got []uint32
	buf := make([]byte, 64)
	for len(got) < want {
		require.NoError(t, e.SetReadDeadline(time.Now().Add(quiet)))
		n, from, err := e.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			require.True(t, errors.As(err, &ne) && ne.Timeout(), "unexpected error %v", err)
			break
		}
		require.Equal(t, 4, n)
		require.Equal(t, e.peer.addr, from)
		got = append(got, binary.BigEndian.Uint32(buf))
	}
	return got
}

func sendN(t *testing.T, from *Endpoint, n int) {
	t.Helper()
	var b [4]byte
	for i := range n {
		binary.BigEndian.PutUint32(b[:], uint32(i))
		_, err := from.WriteTo(b[:], from.peer.addr)
		require.NoError(t, err)
	}
}

func TestPerfectLinkDeliversInOrder(t *testing.T) {
	l := New(Config{})
	defer l.Close()
	sendN(t, l.A(), 500)
	got := drain(t, l.B(), 500, time.Second)
	require.Len(t, got, 500)
	for i, s := range got {
		require.Equal(t, uint32(i), s)
	}
	assert.Equal(t, DirStats{Sent: 500, Delivered: 500}, l.Stats().AToB)
}

func TestLossRateWithinBounds(t *testing.T) {
	const n = 10000
	l := New(Config{Seed: 42, AToB: Direction{Loss: 0.1}, QueueLen: n})
	defer l.Close()
	sendN(t, l.A(), n)
	got := drain(t, l.B(), n, 200*time.Millisecond)
	st := l.Stats().AToB
	assert.Equal(t, uint64(n), st.Sent)
	assert.Equal(t, uint64(len(got)), st.Delivered)
	assert.Equal(t, st.Sent, st.Lost+st.Delivered)
	// 10 % of 10000: sd = 30; allow 5 sd.
	assert.InDelta(t, 1000, float64(st.Lost), 150)
	// Direction B->A is unaffected.
	assert.Zero(t, l.Stats().BToA.Sent)
}

func TestSeedMakesRunsRepeatable(t *testing.T) {
	run := func() []uint32 {
		l := New(Config{Seed: 7, AToB: Direction{Loss: 0.3}})
		defer l.Close()
		sendN(t, l.A(), 300)
		return drain(t, l.B(), 300, 100*time.Millisecond)
	}
	assert.Equal(t, run(), run())
}

func TestDuplicateRateWithinBounds(t *testing.T) {
	const n = 10000
	l := New(Config{Seed: 3, AToB: Direction{Duplicate: 0.2}, QueueLen: 2 * n})
	defer l.Close()
	sendN(t, l.A(), n)
	got := drain(t, l.B(), 2*n, 200*time.Millisecond)
	st := l.Stats().AToB
	assert.InDelta(t, 2000, float64(st.Duplicated), 200) // sd = 40
	assert.Equal(t, n+int(st.Duplicated), len(got))
}

func TestDelayApplied(t *testing.T) {
	l := New(Config{AToB: Direction{Delay: 30 * time.Millisecond}})
	defer l.Close()
	start := time.Now()
	sendN(t, l.A(), 1)
	got := drain(t, l.B(), 1, time.Second)
	require.Len(t, got, 1)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestJitterAndReorderReorder(t *testing.T) {
	l := New(Config{Seed: 9, AToB: Direction{Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Reorder: 0.2}})
	defer l.Close()
	for i := range 200 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		_, err := l.A().WriteTo(b[:], l.B().LocalAddr())
		require.NoError(t, err)
	}
	got := drain(t, l.B(), 200, time.Second)
	require.Len(t, got, 200)
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	assert.Positive(t, inversions)
	assert.Positive(t, l.Stats().AToB.Reordered)
}

func TestQueueOverflowCounted(t *testing.T) {
	l := New(Config{QueueLen: 10})
	defer l.Close()
	sendN(t, l.A(), 25)
	assert.Equal(t, uint64(15), l.Stats().AToB.Overflow)
	assert.Len(t, drain(t, l.B(), 25, 50*time.Millisecond), 10)
}

func TestCloseAndDeadlines(t *testing.T) {
	l := New(Config{AToB: Direction{Delay: time.Hour}})
	sendN(t, l.A(), 3) // stays in flight until Close drops it

	require.NoError(t, l.B().SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, _, err := l.B().ReadFrom(make([]byte, 4))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)

	// A blocked reader wakes on Close.
	errc := make(chan error, 1)
	require.NoError(t, l.B().SetReadDeadline(time.Time{}))
	go func() {
		_, _, err := l.B().ReadFrom(make([]byte, 4))
		errc <- err
	}()
	require.NoError(t, l.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		require.FailNow(t, "reader not woken by Close")
	}
	_, err = l.A().WriteTo([]byte("x"), l.B().LocalAddr())
	require.ErrorIs(t, err, net.ErrClosed)
	require.NoError(t, l.Close()) // idempotent
}

func TestMisaddressed(t *testing.T) {
	l := New(Config{})
	defer l.Close()
	_, err := l.A().WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	require.ErrorIs(t, err, ErrMisaddressed)
	_, err = l.A().WriteTo([]byte("x"), l.A().LocalAddr())
	require.ErrorIs(t, err, ErrMisaddressed)
}
