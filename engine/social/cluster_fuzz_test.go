package social

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode/frame"
)

// FuzzEnvelope feeds arbitrary bytes to the broker envelope decoder: it
// never panics, refuses with errEnvelope, and what it accepts encodes
// back to an envelope that decodes the same.
func FuzzEnvelope(f *testing.F) {
	msg, _ := frame.Marshal(&frame.Message{ChatMessage: frame.ChatMessage{ID: 7, FromUserID: "a", ToUserID: "b", Body: "hi"}})
	for _, e := range []envelope{
		{K: envMessage, Node: "n0", ID: 7, Data: msg},
		{K: envRelation, Node: "n1", User: "a", Other: "b", Flag: true, Data: msg},
		{K: envPresence, Node: "n2", User: "a", P: frame.PresenceAway, Text: "brb", Seen: 1_700_000_000_000_000},
		{K: envCallReq, Node: "n0", User: "a", ID: 9, Session: 3, Token: 4, Op: callOpAccept},
		{K: envCallRep, Node: "n1", Token: 4, Code: 272},
	} {
		f.Add(encodeEnvelope(&e))
	}
	f.Add([]byte{0x9e})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnvelope(b)
		if err != nil {
			require.ErrorIs(t, err, errEnvelope)
			return
		}
		again, err := decodeEnvelope(encodeEnvelope(&e))
		require.NoError(t, err)
		require.Equal(t, e.K, again.K)
		require.Equal(t, e.Node, again.Node)
		require.Equal(t, e.User, again.User)
		require.Equal(t, e.ID, again.ID)
		require.Equal(t, len(e.Data), len(again.Data))
		require.Equal(t, e.Text, again.Text)
	})
}

// FuzzSubjectToken: every user id names a subject token from which it
// is read back.
func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"", "0123abcd", "a.b", "*", ">", "with space", "é"} {
		f.Add(s)
	}
	c := &cluster{prefix: "tw.social"}
	f.Fuzz(func(t *testing.T, id string) {
		subj := c.userSubject(id)
		got, ok := c.subjectUser(subj)
		require.True(t, ok, subj)
		require.Equal(t, id, got)
		for _, r := range subj[len("tw.social.u."):] {
			require.NotContains(t, ". *>\t\r\n", string(r), "a subject token holds no separator or wildcard")
		}
	})
}

func TestEnvelopeRefusesOversizeAndUnknownKinds(t *testing.T) {
	_, err := decodeEnvelope(make([]byte, maxEnvelope+1))
	require.ErrorIs(t, err, errEnvelope)
	_, err = decodeEnvelope(encodeEnvelope(&envelope{K: envMax + 1, Node: "n"}))
	require.ErrorIs(t, err, errEnvelope)
	_, err = decodeEnvelope(encodeEnvelope(&envelope{K: envPresence, Node: "n", P: 9}))
	require.ErrorIs(t, err, errEnvelope)
	long := make([]byte, frame.MaxIDLen+1)
	for i := range long {
		long[i] = 'x'
	}
	_, err = decodeEnvelope(encodeEnvelope(&envelope{K: envMessage, Node: string(long)}))
	require.ErrorIs(t, err, errEnvelope)
}
