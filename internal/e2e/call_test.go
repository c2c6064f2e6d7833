package e2e

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tickwire/tickwire/client"
	"github.com/tickwire/tickwire/engine"
	"github.com/tickwire/tickwire/engine/service"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
	"github.com/tickwire/tickwire/server"
	"github.com/tickwire/tickwire/server/servertest"
)

// opReq is the test service's request: [200, ref, op] (a kind no built-in service uses).
type opReq struct {
	Ref uint32
	Op  uint8
}

const (
	kindOp   frame.Kind = 200
	kindPush frame.Kind = 201

	opOK      = 0 // reply OK
	opFull    = 1 // reply Error room_full
	opPush    = 2 // push a kindPush frame (ref 0), then reply OK
	opSilence = 3 // never reply
)

func (*opReq) Kind() frame.Kind    { return kindOp }
func (r *opReq) SetRef(ref uint32) { r.Ref = ref }
func (r *opReq) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := frame.W{Enc: enc}
	w.Begin(kindOp, 2)
	w.Uint(uint64(r.Ref))
	w.Uint(uint64(r.Op))
	return w.Err()
}
func (r *opReq) DecodeMsgpack(dec *msgpack.Decoder) error {
	f := frame.Begin(dec, kindOp, 2)
	r.Ref = uint32(f.Uint("ref", math.MaxUint32))
	r.Op = uint8(f.Uint("op", 255))
	return f.End()
}

// opService is a minimal feature service plugged in through
// server.Config.Engine.Services, as rooms and social are.
type opService struct{}

func (opService) Name() string              { return "op" }
func (opService) Handles(k frame.Kind) bool { return k == kindOp }
func (opService) PeerOpened(service.Peer)   {}
func (opService) PeerClosed(service.Peer)   {}
func (opService) HandleFrame(now time.Time, p service.Peer, ch netcode.Channel, k frame.Kind, data []byte) (uint32, error) {
	var r opReq
	if err := frame.Unmarshal(data, &r); err != nil {
		return 0, err
	}
	switch r.Op {
	case opFull:
		return r.Ref, netcode.Errorf(netcode.CodeRoomFull, "no seats left")
	case opPush:
		p.Send(netcode.Reliable, []byte{0x92, 0xcc, byte(kindPush), 0x00}) // kinds above 127 are msgpack uint8
	case opSilence:
		return r.Ref, nil
	}
	b, err := frame.Marshal(&frame.OK{Ref: r.Ref})
	if err != nil {
		return r.Ref, err
	}
	p.Send(netcode.Reliable, b)
	return r.Ref, nil
}

func TestCallAndPushes(t *testing.T) {
	srv := servertest.Start(t, server.Config{Engine: engine.Config{Services: []service.Service{opService{}}}})
	forEachTransport(t, func(t *testing.T, tr string) {
		c := dial(t, srv, tr, client.Options{})

		m, err := c.Call(ctxT(t), &opReq{Op: opOK})
		require.NoError(t, err)
		assert.Equal(t, frame.KindOK, m.Kind)
		assert.NotZero(t, m.Ref)

		m, err = c.Call(ctxT(t), &opReq{Op: opFull})
		var ce *netcode.CodedError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, netcode.CodeRoomFull, ce.Code)
		assert.Equal(t, "no seats left", ce.Msg)
		assert.Equal(t, frame.KindError, m.Kind)

		_, err = c.Call(ctxT(t), &opReq{Op: opPush})
		require.NoError(t, err)
		select {
		case push := <-c.Messages():
			assert.Equal(t, kindPush, push.Kind)
			assert.Zero(t, push.Ref)
		case <-time.After(wait):
			t.Fatal("no push")
		}

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err = c.Call(ctx, &opReq{Op: opSilence})
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		// Concurrent calls are matched by ref.
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			go func(op uint8) {
				m, err := c.Call(ctxT(t), &opReq{Op: op})
				if err == nil && m.Kind != frame.KindOK {
					err = assert.AnError
				}
				if op == opFull && netcode.CodeOf(err) == netcode.CodeRoomFull {
					err = nil
				}
				errs <- err
			}(uint8(i % 2))
		}
		for i := 0; i < 20; i++ {
			require.NoError(t, <-errs)
		}

		require.NoError(t, c.Close())
		require.NoError(t, c.Close(), "idempotent")
		_, ok := <-c.Messages()
		assert.False(t, ok, "Messages is closed when the client ends")
		assert.ErrorIs(t, c.Err(), client.ErrClosed)
		_, err = c.Call(ctxT(t), &opReq{})
		assert.Error(t, err)
	})
}
