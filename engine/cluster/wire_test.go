package cluster

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeHeartbeat(t *testing.T) {
	good := heartbeat{NodeInfo: NodeInfo{ID: "n1", Boot: 5, URL: "http://127.0.0.1:7780"}, Seq: 3}
	b, err := json.Marshal(good)
	require.NoError(t, err)
	got, err := decodeHeartbeat(b)
	require.NoError(t, err)
	assert.Equal(t, good, got)
	for name, raw := range map[string]string{
		"not json":    "{",
		"bad id":      `{"id":"a.b","boot":1,"url":"http://x"}`,
		"no boot":     `{"id":"a","url":"http://x"}`,
		"bad url":     `{"id":"a","boot":1,"url":"javascript:x"}`,
		"user in url": `{"id":"a","boot":1,"url":"http://u:p@x"}`,
		"too large":   `{"id":"a","boot":1,"url":"http://x","pad":"` + string(bytes.Repeat([]byte("x"), MaxHeartbeatSize)) + `"}`,
	} {
		_, err := decodeHeartbeat([]byte(raw))
		assert.ErrorIs(t, err, errBadPayload, name)
	}
}

func TestDecodeDirectoryPayloads(t *testing.T) {
	ev := dirEvent{Node: "n1", Boot: 1, Seq: 2, Set: []Entry{{Room: 9, Type: "relay", Label: "eu", Members: 1, Capacity: 4, Creator: "u1"}}, Gone: []uint64{7}}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	got, err := decodeEvent(b)
	require.NoError(t, err)
	assert.Equal(t, ev, got)

	for name, e := range map[string]dirEvent{
		"seq 0":     {Node: "n1", Boot: 1},
		"bad node":  {Node: "", Boot: 1, Seq: 1},
		"room 0":    {Node: "n1", Boot: 1, Seq: 1, Set: []Entry{{Type: "relay"}}},
		"no type":   {Node: "n1", Boot: 1, Seq: 1, Set: []Entry{{Room: 1}}},
		"long type": {Node: "n1", Boot: 1, Seq: 1, Set: []Entry{{Room: 1, Type: string(bytes.Repeat([]byte("t"), 200))}}},
		"negative":  {Node: "n1", Boot: 1, Seq: 1, Set: []Entry{{Room: 1, Type: "r", Members: -1}}},
		"too many":  {Node: "n1", Boot: 1, Seq: 1, Gone: make([]uint64, dirBatch+1)},
	} {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		_, err = decodeEvent(b)
		assert.ErrorIs(t, err, errBadPayload, name)
	}
	_, err = decodePage(bytes.Repeat([]byte(" "), MaxDirPayload+1))
	assert.ErrorIs(t, err, errBadPayload)
}

// The decoders of what other nodes publish never panic, bound what they
// accept, and what they accept encodes back to something they accept.
func FuzzClusterPayloads(f *testing.F) {
	for _, v := range []any{
		heartbeat{NodeInfo: NodeInfo{ID: "n1", Boot: 5, URL: "http://127.0.0.1:7780"}, Seq: 3},
		dirEvent{Node: "n1", Boot: 1, Seq: 2, Set: []Entry{{Room: 9, Type: "relay", Label: "eu", Members: 1, Capacity: 4}}, Gone: []uint64{7}},
		snapPage{Boot: 1, Seq: 4, Rooms: []Entry{{Room: 1, Type: "voice", Capacity: 8, Private: true}}, More: true},
	} {
		b, err := json.Marshal(v)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if hb, err := decodeHeartbeat(b); err == nil {
			assert.LessOrEqual(t, len(b), MaxHeartbeatSize)
			again, err := json.Marshal(hb)
			require.NoError(t, err)
			_, err = decodeHeartbeat(again)
			assert.NoError(t, err)
		}
		if ev, err := decodeEvent(b); err == nil {
			assert.LessOrEqual(t, len(ev.Set), dirBatch)
			assert.LessOrEqual(t, len(ev.Gone), dirBatch)
			again, err := json.Marshal(ev)
			require.NoError(t, err)
			_, err = decodeEvent(again)
			assert.NoError(t, err)
		}
		if p, err := decodePage(b); err == nil {
			assert.LessOrEqual(t, len(p.Rooms), dirBatch)
		}
	})
}
