package loop

import (
	"reflect"
	"unsafe"

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// ringStart is the number of segment slots a core's queues start with.
// kcp-go's NewKCP gives each of its three segment rings (send queue,
// send buffer, receive queue) 64 slots, 12 KB per session whatever its
// traffic: most of an idle session's memory. Its RingBuffer grows by
// itself when full, so a fresh core's empty rings are swapped for rings
// of ringStart slots; a busy session grows them back to what it uses.
const ringStart = 8

// ringNames are the KCP fields shrinkRings replaces.
var ringNames = [...]string{"snd_queue", "rcv_queue", "snd_buf"}

// ringsOK says whether kcp-go's KCP still has the fields shrinkRings
// expects (pointers to RingBuffer structs with head, tail and elements):
// found by name so that an upgrade that changes them turns the shrinking
// off (TestShrinkRings fails), never writes at a wrong place. Like
// kcpFlush and SRTT, tied to the kcp-go version go.mod pins (v5.7.5).
var ringsOK = func() bool {
	t := reflect.TypeFor[kcpgo.KCP]()
	for _, name := range ringNames {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			return false
		}
		rt := f.Type.Elem()
		h, okH := rt.FieldByName("head")
		tl, okT := rt.FieldByName("tail")
		e, okE := rt.FieldByName("elements")
		if !okH || !okT || !okE || h.Type.Kind() != reflect.Int || tl.Type.Kind() != reflect.Int || e.Type.Kind() != reflect.Slice {
			return false
		}
	}
	return true
}()

// shrinkRings gives a fresh core (nothing queued yet) rings of ringStart
// slots.
func shrinkRings(k *kcpgo.KCP) {
	if !ringsOK {
		return
	}
	kv := reflect.ValueOf(k).Elem()
	for _, name := range ringNames {
		f := kv.FieldByName(name)
		field := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
		ring := reflect.New(f.Type().Elem())
		e := ring.Elem().FieldByName("elements")
		reflect.NewAt(e.Type(), unsafe.Pointer(e.UnsafeAddr())).Elem().Set(reflect.MakeSlice(e.Type(), ringStart, ringStart))
		field.Set(ring)
	}
}
