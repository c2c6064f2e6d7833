package kcp

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func handshakeSeeds() [][]byte {
	var seeds [][]byte
	for _, h := range []handshake{
		{Type: typeHello, Nonce: [8]byte{1, 2, 3}},
		{Type: typeHello, Nonce: [8]byte{1}, PaddingLength: 500},
		{Type: typeCookie, Nonce: [8]byte{4}, Bucket: 177000000, MAC: [16]byte{9, 9}},
		{Type: typeConnect, Nonce: [8]byte{4}, Bucket: 177000000, MAC: [16]byte{9, 9}, Pub: [32]byte{1, 2}},
		{Type: typeConnect, Nonce: [8]byte{4}, Bucket: 177000000, MAC: [16]byte{9, 9}, Mode: modePlaintext},
		{Type: typeHello, Nonce: [8]byte{1}, Mode: modePlaintext},
		{Type: typeAccept, Nonce: [8]byte{5}, Conv: 0xdeadbeef, Token: 0x0102030405060708, DataShards: 4, ParityShards: 2},
		{Type: typeReject, Nonce: [8]byte{6}, Code: netcode.CodeRateLimited},
	} {
		seeds = append(seeds, appendHandshake(nil, h))
	}
	hk, err := newAEAD(make([]byte, keySize))
	if err != nil {
		panic(err)
	}
	seeds = append(seeds,
		sealHandshake(nil, handshake{Type: typeAccept, Nonce: [8]byte{5}, Conv: 7, Token: 9}, hk),
		sealHandshake(nil, handshake{Type: typeReject, Nonce: [8]byte{6}, Code: netcode.CodeRateLimited}, hk))
	return seeds
}

func FuzzHandshake(f *testing.F) {
	for _, s := range handshakeSeeds() {
		f.Add(s)
	}
	f.Add([]byte{typeHello, protocolVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHandshake(b)
		if err != nil {
			return
		}
		if h.Sealed {
			// A sealed Accept or Reject opens only with its key: the
			// fuzzer's bytes never do (and never panic trying).
			hk, err := newAEAD(make([]byte, keySize))
			require.NoError(t, err)
			require.False(t, openHandshake(&h, append([]byte(nil), b...), hk) && !bytes.Equal(b, sealHandshake(nil, h, hk)),
				"only the sealed seed itself opens")
			return
		}
		enc := appendHandshake(nil, h)
		require.LessOrEqual(t, len(enc), maxDatagram)
		h2, err := decodeHandshake(enc)
		require.NoError(t, err)
		require.Equal(t, h, h2)
		if h.Type != typeHello { // Hello padding content is ignored
			require.Equal(t, b, enc)
		}
	})
}

func sessionSeeds() [][]byte {
	hdr := func(typ byte) []byte {
		b := make([]byte, sessionHeaderSize)
		putSessionHeader(b, sessionHeader{Type: typ, Token: 0xabcdef0123456789, PN: 77})
		return b
	}
	kcpPkt := make([]byte, 24+5)
	binary.LittleEndian.PutUint32(kcpPkt, 0x11223344)
	kcpPkt[4] = kcpCmdPush
	binary.LittleEndian.PutUint32(kcpPkt[20:], 5)
	return [][]byte{
		append(hdr(typeKCP), kcpPkt...),
		append(hdr(typeUnreliable), 0, 0, 0, 9, 'h', 'i'),
		appendControl(hdr(typeControl), control{Type: ctlHeartbeat, RecvMax: 100, RecvCount: 93}),
		appendControl(hdr(typeControl), control{Type: ctlClose, Code: netcode.CodeServerShutdown, Reason: "maintenance"}),
	}
}

func FuzzSessionDatagram(f *testing.F) {
	for _, s := range sessionSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := decodeSessionHeader(b)
		if err != nil {
			return
		}
		re := make([]byte, sessionHeaderSize)
		putSessionHeader(re, h)
		require.Equal(t, b[:sessionHeaderSize], re)
		switch h.Type {
		case typeUnreliable:
			seq, msg, err := decodeUnreliable(payload)
			if err != nil {
				return
			}
			enc := binary.BigEndian.AppendUint32(nil, seq)
			require.Equal(t, payload, append(enc, msg...))
		case typeControl:
			c, err := decodeControl(payload)
			if err != nil {
				return
			}
			require.LessOrEqual(t, len(c.Reason), maxReasonLen)
			enc := appendControl(nil, c)
			require.Equal(t, payload, enc)
			c2, err := decodeControl(enc)
			require.NoError(t, err)
			require.Equal(t, c, c2)
		}
	})
}

// FuzzSealedDatagram feeds arbitrary datagrams to a sealed session's
// open: nothing panics, and nothing but a datagram sealed with the key
// authenticates (the seeds are sealed ones, which the fuzzer mutates).
func FuzzSealedDatagram(f *testing.F) {
	prk := make([]byte, 32)
	tx, err := newSessionCrypto(prk, true, 4)
	require.NoError(f, err)
	for i, s := range sessionSeeds() {
		b := append(s, make([]byte, tagSize)...)[:len(s)]
		putSessionHeader(b, sessionHeader{Type: b[0], Token: 1, PN: uint32(i * 7)})
		f.Add(tx.seal(uint32(i*7), b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rx, err := newSessionCrypto(prk, false, 4)
		require.NoError(t, err)
		h, _, err := decodeSessionHeader(b)
		if err != nil {
			return
		}
		orig := append([]byte(nil), b...)
		payload, ok, replayed := rx.open(h.PN, b)
		require.False(t, replayed, "a fresh window replays nothing")
		if !ok {
			return
		}
		// It authenticated: it must be exactly what the key sealed.
		again, err := newSessionCrypto(prk, true, 4)
		require.NoError(t, err)
		re := append(append([]byte(nil), orig[:sessionHeaderSize]...), payload...)
		re = append(re, make([]byte, tagSize)...)[:sessionHeaderSize+len(payload)]
		require.Equal(t, orig, again.seal(h.PN, re))
		rx.accept(h.PN)
		_, ok, replayed = rx.open(h.PN, orig)
		require.False(t, ok)
		require.True(t, replayed, "the same datagram twice is a replay")
	})
}

func FuzzReliableStream(f *testing.F) {
	const limit = 1 << 10
	seed := appendPrefix(nil, 3)
	seed = append(seed, "abc"...)
	seed = appendPrefix(seed, 0)
	seed = appendPrefix(seed, 200)
	seed = append(seed, bytes.Repeat([]byte{7}, 200)...)
	f.Add(seed)
	f.Add(appendPrefix(nil, limit+1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		rest := b
		for len(rest) > 0 {
			msg, n, err := nextMessage(rest, limit)
			if err != nil || n == 0 {
				return
			}
			require.LessOrEqual(t, len(msg), limit)
			enc := append(appendPrefix(nil, len(msg)), msg...)
			msg2, n2, err := nextMessage(enc, limit)
			require.NoError(t, err)
			require.Equal(t, len(enc), n2)
			require.Equal(t, msg, msg2)
			rest = rest[n:]
		}
	})
}

func TestTruncateReasonKeepsUTF8(t *testing.T) {
	r := string(bytes.Repeat([]byte("é"), 100)) // 200 bytes
	c, err := decodeControl(appendControl(nil, control{Type: ctlClose, Code: 3, Reason: r}))
	require.NoError(t, err)
	require.Equal(t, r[:maxReasonLen], c.Reason, "cut at 120 bytes, a character boundary")
}
