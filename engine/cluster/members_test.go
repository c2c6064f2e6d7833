package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMembersTable(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := newMembers("self", 3*time.Second)
	a := NodeInfo{ID: "a", Boot: 1, URL: "http://a"}

	assert.Nil(t, m.heard(t0, NodeInfo{ID: "self", Boot: 1, URL: "http://s"}, 0), "self is not a member")
	evs := m.heard(t0, a, 0)
	require.Len(t, evs, 1)
	assert.True(t, evs[0].up)
	assert.Nil(t, m.heard(t0.Add(time.Second), a, 1), "a heartbeat of a known node changes nothing")

	// Not heard for 3 s after the last heartbeat: gone, exactly then.
	assert.Empty(t, m.expire(t0.Add(3999*time.Millisecond)))
	evs = m.expire(t0.Add(4 * time.Second))
	require.Len(t, evs, 1)
	assert.False(t, evs[0].up)
	assert.Equal(t, "a", evs[0].info.ID)
	assert.Empty(t, m.live())

	// A restart (new boot) within the bound: the old one goes, the new
	// one comes; a late heartbeat of the old one is ignored.
	m.heard(t0, a, 0)
	a2 := a
	a2.Boot = 2
	evs = m.heard(t0.Add(time.Second), a2, 0)
	require.Len(t, evs, 2)
	assert.Equal(t, memberEvent{info: a}, evs[0])
	assert.Equal(t, memberEvent{info: a2, up: true}, evs[1])
	assert.Nil(t, m.heard(t0.Add(time.Second), a, 5))
	assert.Equal(t, []NodeInfo{a2}, m.live())

	// A goodbye of the old incarnation does nothing; of the current one
	// removes it.
	assert.Nil(t, m.left("a", 1))
	evs = m.left("a", 2)
	require.Len(t, evs, 1)
	assert.Empty(t, m.live())

	// grace: after this node's own outage nobody expires at once.
	m.heard(t0, a, 0)
	m.grace(t0.Add(10 * time.Second))
	assert.Empty(t, m.expire(t0.Add(12*time.Second)))
	assert.Len(t, m.expire(t0.Add(13*time.Second)), 1)
}

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{NodeID: "n1", URLs: []string{"nats://127.0.0.1:4222"}, Advertise: "http://127.0.0.1:7780"}
	}
	c := good()
	require.NoError(t, c.populate())
	assert.Equal(t, 3250*time.Millisecond, c.DeathBound())
	for name, mut := range map[string]func(*Config){
		"empty id":      func(c *Config) { c.NodeID = "" },
		"id with dot":   func(c *Config) { c.NodeID = "a.b" },
		"long id":       func(c *Config) { c.NodeID = string(make([]byte, 65)) },
		"no urls":       func(c *Config) { c.URLs = nil },
		"bad advertise": func(c *Config) { c.Advertise = "ftp://x" },
		"relative":      func(c *Config) { c.Advertise = "/v1" },
		"one missed":    func(c *Config) { c.MissedHeartbeats = 1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good()
			mut(&c)
			assert.ErrorIs(t, c.populate(), ErrBadConfig)
		})
	}
}
