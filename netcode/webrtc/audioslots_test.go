package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlotTable(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tab := newSlotTable(2, time.Second)
	var h rtp.Header

	// Member 7 takes slot 0 and keeps it; its numbering continues.
	slot, ok := tab.route(t0, 7, 100, 5000, &h)
	require.True(t, ok)
	assert.Equal(t, 0, slot)
	assert.True(t, h.Marker, "a talkspurt starts with the marker bit")
	assert.Equal(t, []uint32{7}, h.CSRC, "the member travels as the CSRC")
	first := h
	slot, ok = tab.route(t0.Add(20*time.Millisecond), 7, 101, 5960, &h)
	require.True(t, ok)
	assert.Equal(t, 0, slot)
	assert.False(t, h.Marker)
	assert.Equal(t, first.SequenceNumber+1, h.SequenceNumber)
	assert.Equal(t, first.Timestamp+960, h.Timestamp)

	// Member 9 takes the free slot 1; member 11 finds both recent: dropped.
	slot, ok = tab.route(t0.Add(30*time.Millisecond), 9, 1, 1, &h)
	require.True(t, ok)
	assert.Equal(t, 1, slot)
	_, ok = tab.route(t0.Add(40*time.Millisecond), 11, 50, 50, &h)
	assert.False(t, ok, "every slot holds a recent speaker")

	// Member 9 goes quiet past the hold (member 7 keeps talking): 11
	// gets slot 1, continuing slot 1's numbering with the pause in its clock.
	for i := range uint32(60) {
		_, ok = tab.route(t0.Add(time.Duration(40+20*i)*time.Millisecond), 7, 102+i, 6920+960*i, &h)
		require.True(t, ok)
	}
	before := tab.slots[1]
	at := t0.Add(1500 * time.Millisecond)
	slot, ok = tab.route(at, 11, 50, 12345, &h)
	require.True(t, ok)
	assert.Equal(t, 1, slot)
	assert.True(t, h.Marker)
	assert.Equal(t, before.outSeq+1, h.SequenceNumber, "a slot's sequence numbers stay continuous")
	assert.Equal(t, before.outTs+uint32(at.Sub(before.last)/(time.Second/48000)), h.Timestamp, "the pause is in the slot's clock")
	assert.Equal(t, []uint32{11}, h.CSRC)

	// Wrap-around of the sender's sequence number stays continuous.
	tab2 := newSlotTable(1, time.Second)
	tab2.route(t0, 3, 0xffff, 0, &h)
	a := h.SequenceNumber
	tab2.route(t0.Add(20*time.Millisecond), 3, 0x10000, 960, &h)
	assert.Equal(t, a+1, h.SequenceNumber)
}

func FuzzAudioOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\n"))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := validateAudioOffer(b, DefaultAudioSlots)
		if err == nil && (n < 1 || n > DefaultAudioSlots) {
			t.Fatalf("accepted %d sections", n)
		}
	})
}

func TestValidateAudioOffer(t *testing.T) {
	sec := "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\n"
	head := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\n"
	n, err := validateAudioOffer([]byte(head+sec+sec), 4)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = validateAudioOffer([]byte(head+sec+sec+sec), 2)
	require.Error(t, err, "more sections than slots")
	_, err = validateAudioOffer([]byte(head+"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"), 4)
	require.Error(t, err, "not audio")
	_, err = validateAudioOffer([]byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"+sec), 4)
	require.Error(t, err, "no ICE credentials")
}
