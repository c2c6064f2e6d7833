package longpoll

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

// seqs decodes a batch built by an outbox and returns its ack and the
// sequence numbers and bodies of its records.
func seqs(t *testing.T, b []byte) (uint32, []uint32, []string) {
	t.Helper()
	ack, recs, err := decodeBatch(b, batchLimits{maxFrames: 1000, maxMessage: 1 << 16}, nil)
	require.NoError(t, err)
	var ss []uint32
	var bodies []string
	for _, r := range recs {
		ss = append(ss, r.seq)
		bodies = append(bodies, string(r.body))
	}
	return ack, ss, bodies
}

func TestOutbox(t *testing.T) {
	type step struct {
		push     string // push a reliable frame with this body
		pushU    string // push an unreliable frame with this body
		ack      uint32 // peer's ack (applied when ackSet)
		ackSet   bool
		ackErr   error
		batch    bool // build a batch for a peer that has `from`
		from     uint32
		maxBytes int
		want     []uint32 // sequence numbers in the batch
		bodies   []string
		dropU    bool // dropOldestQueuedUnreliable, expect wantDrop
		wantDrop bool
	}
	tests := map[string][]step{
		"numbered on first send, resent until acked": {
			{push: "a"}, {push: "b"},
			{batch: true, from: 0, want: []uint32{1, 2}, bodies: []string{"a", "b"}},
			{push: "c"},
			// the answer carrying 1 and 2 was lost: the peer asks again from 0
			{batch: true, from: 0, want: []uint32{1, 2, 3}, bodies: []string{"a", "b", "c"}},
			{ack: 2, ackSet: true},
			{batch: true, from: 2, want: []uint32{3}, bodies: []string{"c"}},
			{ack: 3, ackSet: true},
			{batch: true, from: 3, want: nil},
		},
		"stale ack ignored, batch starts above acked": {
			{push: "a"}, {push: "b"},
			{batch: true, from: 0, want: []uint32{1, 2}},
			{ack: 2, ackSet: true},
			{ack: 1, ackSet: true},
			{push: "c"},
			{batch: true, from: 0, want: []uint32{3}, bodies: []string{"c"}},
		},
		"ack ahead of sent is refused": {
			{push: "a"},
			{ack: 1, ackSet: true, ackErr: errAckAhead}, // queued, not sent yet
			{batch: true, from: 0, want: []uint32{1}},
			{ack: 2, ackSet: true, ackErr: errAckAhead},
			{ack: 1, ackSet: true},
		},
		"batch byte cap keeps the rest for later, one record always fits": {
			{push: "0123456789"}, {push: "0123456789"}, {push: "0123456789"},
			{batch: true, from: 0, maxBytes: batchHeaderSize + 2*(recordHeaderSize+10), want: []uint32{1, 2}},
			{batch: true, from: 2, maxBytes: 1, want: []uint32{3}},
		},
		"unsent unreliable frames drop oldest first, sent ones stay": {
			{pushU: "u1"},
			{batch: true, from: 0, want: []uint32{1}},
			{pushU: "u2"}, {push: "r"}, {pushU: "u3"},
			{dropU: true, wantDrop: true},
			{batch: true, from: 1, want: []uint32{2, 3}, bodies: []string{"r", "u3"}},
			{dropU: true, wantDrop: false},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			o := newOutbox(100, 1<<20)
			for i, s := range steps {
				switch {
				case s.push != "":
					require.NoError(t, o.push(recReliable, []byte(s.push)))
				case s.pushU != "":
					require.NoError(t, o.push(recUnreliable, []byte(s.pushU)))
				case s.ackSet:
					_, err := o.ack(s.ack)
					require.ErrorIs(t, err, s.ackErr, "step %d", i)
				case s.dropU:
					assert.Equal(t, s.wantDrop, o.dropOldestQueuedUnreliable(), "step %d", i)
				case s.batch:
					mb := s.maxBytes
					if mb == 0 {
						mb = 1 << 20
					}
					assert.Equal(t, s.want != nil, o.hasAfter(s.from), "step %d hasAfter", i)
					b, n, _ := o.batch(77, s.from, 100, mb)
					ack, got, bodies := seqs(t, b)
					assert.Equal(t, uint32(77), ack)
					assert.Equal(t, s.want, got, "step %d", i)
					assert.Len(t, got, n)
					if s.bodies != nil {
						assert.Equal(t, s.bodies, bodies, "step %d", i)
					}
				}
			}
		})
	}
}

func TestOutboxWindow(t *testing.T) {
	o := newOutbox(2, 10)
	assert.True(t, o.fits(10))
	assert.False(t, o.fits(11), "bytes cap")
	require.NoError(t, o.push(recReliable, []byte("12345")))
	require.NoError(t, o.push(recReliable, []byte("1")))
	assert.False(t, o.fits(1), "frames cap")
	o.batch(0, 0, 10, 1000)
	n, err := o.ack(1)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.True(t, o.fits(9))
	assert.False(t, o.fits(10))
	// A close record goes in past the window.
	require.NoError(t, o.push(recClose, closeBody(netcode.CodeOK, "")))
	_, _, closing := o.batch(0, 1, 10, 1000)
	assert.True(t, closing)

	// The last sequence number is never used: a session runs out first.
	x := outbox{acked: math.MaxUint32 - 2, maxFrames: 10, maxBytes: 100}
	require.NoError(t, x.push(recReliable, nil)) // seq MaxUint32-1
	require.ErrorIs(t, x.push(recReliable, nil), errSeqExhausted)
}

func TestInbox(t *testing.T) {
	recs := func(first uint32, n int) []record {
		var rs []record
		for i := range n {
			rs = append(rs, record{seq: first + uint32(i)})
		}
		return rs
	}
	tests := map[string]struct {
		next      uint32 // before
		in        []record
		wantFirst uint32 // first fresh seq, 0 = none
		wantN     int
		wantErr   error
	}{
		"empty":                      {next: 1, in: nil},
		"in order":                   {next: 1, in: recs(1, 3), wantFirst: 1, wantN: 3},
		"replayed whole":             {next: 4, in: recs(1, 3)},
		"replayed with new tail":     {next: 3, in: recs(1, 4), wantFirst: 3, wantN: 2},
		"gap":                        {next: 3, in: recs(4, 1), wantErr: errGap},
		"far future":                 {next: 1, in: recs(1<<30, 1), wantErr: errGap},
		"last number is never valid": {next: math.MaxUint32 - 1, in: recs(math.MaxUint32-1, 2), wantErr: errSeqExhausted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := inbox{next: tc.next}
			fresh, err := in.fresh(tc.in)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, netcode.CodeBadRequest, netcode.CodeOf(err))
				return
			}
			require.NoError(t, err)
			require.Len(t, fresh, tc.wantN)
			if tc.wantN > 0 {
				assert.Equal(t, tc.wantFirst, fresh[0].seq)
			}
			in.advance(len(fresh))
			if len(tc.in) > 0 {
				assert.Equal(t, max(tc.next, tc.in[len(tc.in)-1].seq+1), in.next)
			}
		})
	}
}
