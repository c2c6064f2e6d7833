package social

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode/frame"
)

// next returns the next unconsumed Message frame, or false after d.
func (p *testPeer) next(d time.Duration) (frame.Message, bool) {
	deadline := time.After(d)
	for {
		p.mu.Lock()
		for i, b := range p.frames {
			if p.used[i] {
				continue
			}
			if k, _ := frame.Peek(b); k == frame.KindMessage {
				p.used[i] = true
				p.mu.Unlock()
				var m frame.Message
				if frame.Unmarshal(b, &m) != nil {
					return m, false
				}
				return m, true
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			return frame.Message{}, false
		}
	}
}

// Concurrent senders, receivers that reconnect mid-stream and acknowledge
// late, small backlog windows and pending lists: every session sees
// strictly increasing ids, and every receiver ends up with every message.
func TestConcurrentSendersOrderAndNoLossAcrossReconnects(t *testing.T) {
	const senders, perSender, receivers = 3, 60, 3
	names := []string{}
	for i := range senders {
		names = append(names, fmt.Sprintf("sender%d", i))
	}
	for i := range receivers {
		names = append(names, fmt.Sprintf("receiver%d", i))
	}
	e := newEnv(t, Config{MessagesPerSecond: 1e6, MessageBurst: 1 << 20, BacklogWindow: 16, PendingLimit: 8}, names...)
	ctx := context.Background()
	g, err := e.svc.CreateGroup(ctx, e.clock.Now(), e.ids["sender0"], "load", frame.GroupOpen)
	require.NoError(t, err)
	for _, n := range names[1:] {
		require.NoError(t, e.svc.JoinGroup(ctx, e.clock.Now(), e.ids[n], g.ID))
	}

	var wg sync.WaitGroup
	all := make(chan uint64, senders*perSender)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := e.ids[fmt.Sprintf("sender%d", i)]
			for j := range perSender {
				id, _, err := e.svc.SendGroup(ctx, e.clock.Now(), uid, "s", g.ID, fmt.Sprintf("%d-%d", i, j))
				if !assert.NoError(t, err) {
					return
				}
				all <- id
			}
		}()
	}
	seen := make([]map[uint64]bool, receivers)
	for r := range receivers {
		seen[r] = map[uint64]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("receiver%d", r)
			p := newPeer(e.ids[name], name)
			e.svc.PeerOpened(p)
			var last uint64
			got := 0
			deadline := time.Now().Add(20 * time.Second)
			for len(seen[r]) < senders*perSender && time.Now().Before(deadline) {
				m, ok := p.next(100 * time.Millisecond)
				if !ok {
					// Idle (or paused on a window): acknowledge what we have.
					e.svc.ackPeerID(p, last)
					continue
				}
				if !assert.Greater(t, m.ID, last, "%s: ids increase within a session", name) {
					return
				}
				last = m.ID
				seen[r][m.ID] = true
				got++
				if got%5 == 0 {
					e.svc.ackPeerID(p, last)
				}
				if got%37 == 0 { // reconnect, leaving the last few unacknowledged
					e.svc.PeerClosed(p)
					p = newPeer(e.ids[name], name)
					e.svc.PeerOpened(p)
					last = 0
				}
			}
			e.svc.PeerClosed(p)
		}()
	}
	wg.Wait()
	close(all)
	want := map[uint64]bool{}
	for id := range all {
		want[id] = true
	}
	require.Len(t, want, senders*perSender)
	for r := range receivers {
		assert.Equal(t, want, seen[r], "receiver%d has every message", r)
	}
}

// ackPeerID acknowledges for the session of p (as a MessageAck would).
func (s *Service) ackPeerID(p *testPeer, upTo uint64) {
	if ps := s.peer(p); ps != nil && upTo > 0 {
		s.ackPeer(ps, upTo)
	}
}
