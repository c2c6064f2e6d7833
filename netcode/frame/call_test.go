package frame

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func callSamples() map[string]Frame {
	return map[string]Frame{
		"signal_friend": &Signal{Ref: 1, ToUserID: "u-2", Payload: []byte(`{"sdp":"v=0"}`)},
		"signal_room":   &Signal{Ref: 2, ToUserID: "u-2", ToSession: 77, RoomID: 9, Payload: []byte{0, 1, 2, 0xff}},
		"signal_call":   &Signal{CallID: 1 << 60, Payload: []byte("candidate:1 1 udp")},
		"signal_recv":   &SignalRecv{FromUserID: "u-1", FromSession: 12, RoomID: 9, Payload: []byte{0xc1, 0x00}},
		"call_invite":   &CallInvite{Ref: 3, ToUserID: "u-2"},
		"call_accept":   &CallAccept{Ref: 4, CallID: 5},
		"call_end":      &CallEnd{Ref: 5, CallID: 5},
		"call_ringing":  &CallUpdate{Ref: 3, CallID: 5, State: CallRinging, CallerID: "u-1", CallerName: "Ada", CalleeID: "u-2", CallerSession: 12, TimeUs: 1_700_000_000_000_000},
		"call_ended": &CallUpdate{CallID: 5, State: CallEnded, Reason: CallEndHungUp, CallerID: "u-1", CallerName: "Ada", CalleeID: "u-2",
			CallerSession: 12, CalleeSession: 13, ByUserID: "u-2", TimeUs: 1_700_000_000_000_001},
	}
}

func TestCallFramesRoundTrip(t *testing.T) {
	for name, f := range callSamples() {
		t.Run(name, func(t *testing.T) {
			require.True(t, IsSocialKind(f.Kind()))
			b, err := Marshal(f)
			require.NoError(t, err)
			got := NewSocialFrame(f.Kind())
			require.NotNil(t, got)
			require.NoError(t, Unmarshal(b, got))
			assert.Equal(t, f, got)
			again, err := Marshal(got)
			require.NoError(t, err)
			assert.Equal(t, b, again)
		})
	}
}

// The payload is opaque: every byte value, and an empty one, survives.
func TestSignalPayloadBytesExact(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, p := range [][]byte{all, bytes.Repeat([]byte{0xc1}, MaxSignalPayload)} {
		b, err := Marshal(&Signal{Ref: 1, ToUserID: "u", Payload: p})
		require.NoError(t, err)
		var s Signal
		require.NoError(t, Unmarshal(b, &s))
		assert.Equal(t, p, s.Payload)
	}
	b, err := Marshal(&Signal{Ref: 1, ToUserID: "u", Payload: make([]byte, MaxSignalPayload+1)})
	require.NoError(t, err)
	var s Signal
	err = Unmarshal(b, &s)
	assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(err), "%v", err)
	var r SignalRecv
	b, err = Marshal(&SignalRecv{FromUserID: "u", Payload: make([]byte, MaxSignalPayload+1)})
	require.NoError(t, err)
	assert.Equal(t, netcode.CodeFrameTooLarge, netcode.CodeOf(Unmarshal(b, &r)))
}

func TestCallEnums(t *testing.T) {
	t.Run("call_state", func(t *testing.T) {
		checkEnum(t, map[CallState]string{CallRinging: "ringing", CallActive: "active", CallEnded: "ended"}, ParseCallState)
	})
	t.Run("call_end_reason", func(t *testing.T) {
		checkEnum(t, map[CallEndReason]string{
			CallEndNone: "none", CallEndDeclined: "declined", CallEndCancelled: "cancelled", CallEndNoAnswer: "no_answer",
			CallEndHungUp: "hung_up", CallEndDisconnected: "disconnected",
		}, ParseCallEndReason)
	})
	assert.Equal(t, []uint8{1, 2, 3}, []uint8{uint8(CallRinging), uint8(CallActive), uint8(CallEnded)})
	assert.Equal(t, []uint8{0, 1, 2, 3, 4, 5}, []uint8{uint8(CallEndNone), uint8(CallEndDeclined), uint8(CallEndCancelled),
		uint8(CallEndNoAnswer), uint8(CallEndHungUp), uint8(CallEndDisconnected)})
	for name, f := range map[string]Frame{
		"state_0":  &CallUpdate{CallID: 1, State: 0},
		"state_4":  &CallUpdate{CallID: 1, State: 4},
		"reason_6": &CallUpdate{CallID: 1, State: CallEnded, Reason: 6},
	} {
		b, err := Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, netcode.CodeBadFrame, netcode.CodeOf(Unmarshal(b, &CallUpdate{})), name)
	}
}

// FuzzCallFrames decodes arbitrary bytes as every signaling and call
// kind: a refusal carries an input code, and what decodes survives
// decode -> encode -> decode.
func FuzzCallFrames(f *testing.F) {
	for _, fr := range callSamples() {
		b, err := Marshal(fr)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{0x97, 0x6c, 0x01, 0xa1, 0x75, 0x00, 0x00, 0x00, 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Peek(b)
		if err != nil || k < KindSignal || k > KindCallUpdate {
			return
		}
		fuzzSessionDecode(t, NewSocialFrame(k), b)
	})
}
