package engine

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// countingService reports a counter through service.StatsReporter.
type countingService struct {
	name string
	n    atomic.Uint64
}

func (s *countingService) Name() string              { return s.name }
func (s *countingService) Handles(k frame.Kind) bool { return k == 42 }
func (s *countingService) PeerOpened(service.Peer)   {}
func (s *countingService) PeerClosed(service.Peer)   {}
func (s *countingService) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, nil
}
func (s *countingService) ServiceStats() any {
	return map[string]uint64{"handled": s.n.Load()}
}

// plainService has no stats.
type plainService struct{}

func (plainService) Name() string              { return "plain" }
func (plainService) Handles(k frame.Kind) bool { return k == 43 }
func (plainService) PeerOpened(service.Peer)   {}
func (plainService) PeerClosed(service.Peer)   {}
func (plainService) HandleFrame(time.Time, service.Peer, netcode.Channel, frame.Kind, []byte) (uint32, error) {
	return 0, nil
}

func TestStatsServeServiceSnapshots(t *testing.T) {
	svc := &countingService{name: "counting"}
	e, err := New(Config{Services: []service.Service{svc, plainService{}}, AdminToken: "admin"})
	require.NoError(t, err)
	defer func() { require.NoError(t, e.Shutdown(t.Context())) }()
	// The JSON document the admin listener's GET /v1/stats serves.
	get := func() map[string]any {
		t.Helper()
		b, err := json.Marshal(e.ServiceStats())
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	svc.n.Store(7)
	m := get()
	assert.Contains(t, m, "sessions_open", "the engine's own counters are still there")
	services, ok := m["services"].(map[string]any)
	require.True(t, ok, "services object present: %v", m)
	assert.Equal(t, map[string]any{"counting": map[string]any{"handled": float64(7)}}, services,
		"only services that implement StatsReporter are listed, under their Name")
	svc.n.Store(9)
	assert.Equal(t, float64(9), get()["services"].(map[string]any)["counting"].(map[string]any)["handled"], "a fresh snapshot per call")

	assert.Nil(t, e.Stats().Services, "Stats stays the engine's own counters")
	assert.Equal(t, map[string]uint64{"handled": 9}, e.ServiceStats().Services["counting"])
}
