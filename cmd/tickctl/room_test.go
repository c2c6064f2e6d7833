package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each room command takes the flags that mean something for it: the
// room's settings only where a room may be created, --private only where
// it is.
func TestRoomFlagSets(t *testing.T) {
	a := &app{stderr: &bytes.Buffer{}}
	for cmd, want := range map[roomCommand]map[string]bool{
		roomJoinID: {"for": true, "count": true, "unreliable": true, "all-ticks": true, "capacity": false, "tick-rate": false, "private": false},
		roomJoin:   {"for": true, "count": true, "unreliable": true, "all-ticks": true, "capacity": true, "tick-rate": true, "private": false},
		roomCreate: {"for": true, "count": true, "unreliable": true, "all-ticks": true, "capacity": true, "tick-rate": true, "private": true},
	} {
		t.Run(cmd.String(), func(t *testing.T) {
			fs, _ := a.roomFlagSet(cmd)
			assert.Equal(t, cmd.String(), fs.Name())
			for name, defined := range want {
				assert.Equal(t, defined, fs.Lookup(name) != nil, "--%s", name)
			}
		})
	}
}
