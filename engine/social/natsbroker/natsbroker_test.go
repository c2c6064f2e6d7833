package natsbroker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tickwire/tickwire/engine/social/natsbroker"
	"github.com/tickwire/tickwire/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) handle(subject string, data []byte) {
	r.mu.Lock()
	r.got = append(r.got, subject+"="+string(data))
	r.mu.Unlock()
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func connect(t *testing.T, ns *natstest.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// What is published after Subscribe returns reaches the handler, in the
// publisher's order, with its subject; after unsubscribe nothing does.
func TestSubscribeThenPublishInOrder(t *testing.T) {
	ns := natstest.Start(t)
	a, b := natsbroker.New(connect(t, ns), 0, 0), natsbroker.New(connect(t, ns), 0, 0)
	defer a.Close()
	defer b.Close()
	var r recorder
	unsub, err := b.Subscribe("tw.social.u.bob", r.handle)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, a.Publish("tw.social.u.bob", []byte{byte('0' + i%10)}))
	}
	require.Eventually(t, func() bool { return len(r.snapshot()) == 100 }, wait, time.Millisecond)
	for i, s := range r.snapshot() {
		require.Equal(t, "tw.social.u.bob="+string(rune('0'+i%10)), s)
	}
	unsub()
	require.NoError(t, a.Publish("tw.social.u.bob", []byte("late")))
	_, err = b.Subscribe("tw.social.u.other", r.handle) // a round trip: "late" would have arrived
	require.NoError(t, err)
	assert.Len(t, r.snapshot(), 100)
}

// While NATS is down Publish and Subscribe refuse at once; when it is
// back the gap function runs (once the connection is up again).
func TestOutageRefusesAndReportsTheGap(t *testing.T) {
	ns := natstest.Start(t)
	nc := connect(t, ns)
	b := natsbroker.New(nc, 0, 0)
	defer b.Close()
	gaps := make(chan struct{}, 8)
	b.SetGap(func() { gaps <- struct{}{} })

	ns.Stop()
	require.Eventually(t, func() bool { return !nc.IsConnected() }, wait, time.Millisecond)
	require.Error(t, b.Publish("s", []byte("x")), "not buffered for later")
	t0 := time.Now()
	_, err := b.Subscribe("s", func(string, []byte) {})
	require.Error(t, err)
	assert.Less(t, time.Since(t0), time.Second, "refused at once, not after the flush timeout")
	select {
	case <-gaps:
		t.Fatal("no gap reported while still down")
	default:
	}

	ns.Start()
	select {
	case <-gaps:
	case <-time.After(wait):
		t.Fatal("the reconnect was not reported")
	}
	assert.True(t, nc.IsConnected())
	require.NoError(t, b.Publish("s", []byte("x")))
}
