package social

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/engine/accounts"
	"github.com/tickwire/tickwire/engine/store"
	"github.com/tickwire/tickwire/netcode/frame"
)

func TestPresenceStateMachine(t *testing.T) {
	tm := timing{grace: 5 * time.Second, awayAfter: time.Minute}
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		name    string
		do      func(p *presence) bool
		changed bool
		shown   frame.Presence
		text    string
	}
	steps := []step{
		{"open", func(p *presence) bool { return p.open(at(0), tm) }, true, frame.PresenceOnline, ""},
		{"second session", func(p *presence) bool { return p.open(at(time.Second), tm) }, false, frame.PresenceOnline, ""},
		{"idle not yet", func(p *presence) bool { return p.tick(at(time.Minute), tm) }, false, frame.PresenceOnline, ""},
		{"idle", func(p *presence) bool { return p.tick(at(time.Minute+time.Second), tm) }, true, frame.PresenceAway, ""},
		{"activity", func(p *presence) bool { return p.activity(at(2*time.Minute), tm) }, true, frame.PresenceOnline, ""},
		{"status", func(p *presence) bool { return p.set(at(2*time.Minute), tm, frame.PresenceOnline, "raiding") }, true, frame.PresenceOnline, "raiding"},
		{"same status", func(p *presence) bool { return p.set(at(2*time.Minute), tm, frame.PresenceOnline, "raiding") }, false, frame.PresenceOnline, "raiding"},
		{"set away", func(p *presence) bool { return p.set(at(3*time.Minute), tm, frame.PresenceAway, "raiding") }, true, frame.PresenceAway, "raiding"},
		{"activity keeps manual away", func(p *presence) bool { return p.activity(at(3*time.Minute), tm) }, false, frame.PresenceAway, "raiding"},
		{"back online", func(p *presence) bool { return p.set(at(4*time.Minute), tm, frame.PresenceOnline, "") }, true, frame.PresenceOnline, ""},
		{"one session closes", func(p *presence) bool { return p.close(at(5*time.Minute), tm) }, false, frame.PresenceOnline, ""},
		{"last session closes", func(p *presence) bool { return p.close(at(6*time.Minute), tm) }, false, frame.PresenceOnline, ""},
		{"within grace", func(p *presence) bool { return p.tick(at(6*time.Minute+4*time.Second), tm) }, false, frame.PresenceOnline, ""},
		{"reconnect within grace", func(p *presence) bool { return p.open(at(6*time.Minute+4*time.Second), tm) }, false, frame.PresenceOnline, ""},
		{"after grace, still connected", func(p *presence) bool { return p.tick(at(6*time.Minute+10*time.Second), tm) }, false, frame.PresenceOnline, ""},
		{"gone", func(p *presence) bool { return p.close(at(7*time.Minute), tm) }, false, frame.PresenceOnline, ""},
		{"grace passed", func(p *presence) bool { return p.tick(at(7*time.Minute+5*time.Second), tm) }, true, frame.PresenceOffline, ""},
	}
	var p presence
	for _, s := range steps {
		assert.Equal(t, s.changed, s.do(&p), s.name)
		assert.Equal(t, s.shown, p.shown, s.name)
		assert.Equal(t, s.text, p.shownText, s.name)
	}
	assert.True(t, p.gone(at(7*time.Minute+5*time.Second), tm))
	assert.Equal(t, at(7*time.Minute), p.lastSeen)
}

func TestPresenceOfflineHidesStatusAndIdleTimerOff(t *testing.T) {
	tm := timing{grace: time.Second, awayAfter: -1}
	t0 := time.Unix(1000, 0)
	var p presence
	p.set(t0, tm, frame.PresenceOnline, "hello")
	assert.Equal(t, frame.PresenceOffline, p.shown, "no session: offline")
	assert.Empty(t, p.shownText)
	assert.True(t, p.open(t0, tm))
	assert.Equal(t, "hello", p.shownText)
	assert.False(t, p.tick(t0.Add(24*time.Hour), tm), "the idle timer is off")
	assert.Equal(t, frame.PresenceOnline, p.shown)
}

// A user whose session has just opened is shown online even before the
// backlog worker has read their stored status (here: never, since the
// service is not running), not offline.
func TestJustConnectedUserShowsOnlineBeforeLoad(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "social.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, store.Migrate(ctx, db, append(accounts.Migrations(), Migrations()...)))
	us := accounts.NewSQLiteStore(db)
	bob, err := us.CreateUser(ctx, "bob", "bob", nil)
	require.NoError(t, err)
	svc, err := New(Config{DB: db, Users: us})
	require.NoError(t, err)

	p, _ := svc.Presence(bob.ID)
	assert.Equal(t, frame.PresenceOffline, p)
	peer := newPeer(bob.ID, "bob")
	svc.PeerOpened(peer)
	p, text := svc.Presence(bob.ID)
	assert.Equal(t, frame.PresenceOnline, p)
	assert.Empty(t, text)
	svc.PeerClosed(peer)
	p, _ = svc.Presence(bob.ID)
	assert.Equal(t, frame.PresenceOffline, p, "never loaded and no session: nothing was shown to friends")
}
