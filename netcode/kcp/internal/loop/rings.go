package loop

import (
	"reflect"
	"unsafe"

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// A session's KCP core is a copy of its Loop's template core, not a
// product of kcp-go's NewKCP. NewKCP allocates ~22 KB per core that a
// session never uses: three 64-slot segment rings (send queue, send
// buffer, receive queue; 4.6 KB each, with pointers the collector must
// scan) and a flush buffer for kcp-go's default MTU, which SetMtu throws
// away for ours. At a connect storm of 10,000 sessions a second that
// garbage cost more than the core's work (BenchmarkAdd: 16 µs and 26 KB
// per core before, see docs/PERFORMANCE.md, "Issue 11: sealed
// handshakes"). The template is made once per Loop by NewKCP and tuned
// (NoDelay, WndSize, SetMtu); a new core copies it and gets its own
// conversation id, output callback, flush buffer (one MTU, a third of
// kcp-go's: see flushBuffer), rings of ringStart
// slots (kcp-go's RingBuffer grows by itself when full, so a busy session
// grows them back to what it uses) and receive heap.
//
// The fields are found by name and type once, at start, so that a kcp-go
// upgrade that changes them turns the copying off (Add falls back to
// NewKCP; TestCoreTemplate fails) and never writes at a wrong place.
// Like kcpFlush and SRTT, this is tied to the kcp-go version go.mod pins
// (v5.7.5).

// ringStart is the number of segment slots a core's queues start with.
const ringStart = 8

// ringNames are the KCP fields that get rings of their own.
var ringNames = [...]string{"snd_queue", "rcv_queue", "snd_buf"}

// coreLayout is where a new core's own fields are in kcp-go's KCP.
type coreLayout struct {
	conv, output, buffer, rcvBuf uintptr
	rings                        [len(ringNames)]uintptr
	ringType                     reflect.Type // RingBuffer[segment]
	elems                        uintptr      // RingBuffer.elements
	elemsType                    reflect.Type // []segment
	heapType                     reflect.Type // segmentHeap
	marks                        uintptr      // segmentHeap.marks
	marksType                    reflect.Type // map[uint32]struct{}
}

// layout is found once; layoutOK is false when kcp-go's KCP is not the
// shape this file expects.
var layout, layoutOK = findLayout()

func findLayout() (coreLayout, bool) {
	var l coreLayout
	t := reflect.TypeFor[kcpgo.KCP]()
	field := func(name string, kind reflect.Kind) (reflect.StructField, bool) {
		f, ok := t.FieldByName(name)
		return f, ok && f.Type.Kind() == kind
	}
	conv, ok1 := field("conv", reflect.Uint32)
	out, ok2 := field("output", reflect.Func)
	buf, ok3 := field("buffer", reflect.Slice)
	rcv, ok4 := field("rcv_buf", reflect.Pointer)
	if !ok1 || !ok2 || !ok3 || !ok4 ||
		!out.Type.ConvertibleTo(reflect.TypeFor[func([]byte, int)]()) ||
		buf.Type.Elem().Kind() != reflect.Uint8 {
		return l, false
	}
	l.conv, l.output, l.buffer, l.rcvBuf = conv.Offset, out.Offset, buf.Offset, rcv.Offset
	for i, name := range ringNames {
		f, ok := field(name, reflect.Pointer)
		if !ok || f.Type.Elem().Kind() != reflect.Struct {
			return l, false
		}
		rt := f.Type.Elem()
		h, okH := rt.FieldByName("head")
		tl, okT := rt.FieldByName("tail")
		e, okE := rt.FieldByName("elements")
		if !okH || !okT || !okE || h.Type.Kind() != reflect.Int || tl.Type.Kind() != reflect.Int || e.Type.Kind() != reflect.Slice {
			return l, false
		}
		if l.ringType != nil && l.ringType != rt {
			return l, false
		}
		l.rings[i], l.ringType, l.elems, l.elemsType = f.Offset, rt, e.Offset, e.Type
	}
	// segmentHeap: the segments (nil to start) and a map of the
	// sequence numbers held.
	ht := rcv.Type.Elem()
	if ht.Kind() != reflect.Struct || ht.NumField() != 2 {
		return l, false
	}
	s, okS := ht.FieldByName("segments")
	m, okM := ht.FieldByName("marks")
	if !okS || !okM || s.Type != l.elemsType || m.Type.Kind() != reflect.Map {
		return l, false
	}
	l.heapType, l.marks, l.marksType = ht, m.Offset, m.Type
	return l, true
}

// flushBuffer is the size of a core's flush buffer for an MTU. kcp-go's
// flush writes into it only while what it holds plus the next segment
// fits the MTU (makeSpace), so an MTU is all it needs; NewKCP and SetMtu
// make three times that plus headers (3.6 KB of an idle session's memory
// at our MTU). One header more is kept as a margin.
func flushBuffer(mtu int) int { return mtu + kcpgo.IKCP_OVERHEAD }

// newCore returns a core for conv that writes through output: a copy of
// tmpl (tuned for mtu, never used) with fields of its own.
func newCore(tmpl *kcpgo.KCP, mtu int, conv uint32, output func([]byte, int)) *kcpgo.KCP {
	k := new(kcpgo.KCP)
	*k = *tmpl
	p := unsafe.Pointer(k)
	*(*uint32)(unsafe.Add(p, layout.conv)) = conv
	*(*func([]byte, int))(unsafe.Add(p, layout.output)) = output
	*(*[]byte)(unsafe.Add(p, layout.buffer)) = make([]byte, flushBuffer(mtu))
	for _, off := range layout.rings {
		ring := reflect.New(layout.ringType)
		e := unsafe.Add(ring.UnsafePointer(), layout.elems)
		reflect.NewAt(layout.elemsType, e).Elem().Set(reflect.MakeSlice(layout.elemsType, ringStart, ringStart))
		*(*unsafe.Pointer)(unsafe.Add(p, off)) = ring.UnsafePointer()
	}
	h := reflect.New(layout.heapType)
	reflect.NewAt(layout.marksType, unsafe.Add(h.UnsafePointer(), layout.marks)).Elem().Set(reflect.MakeMap(layout.marksType))
	*(*unsafe.Pointer)(unsafe.Add(p, layout.rcvBuf)) = h.UnsafePointer()
	return k
}
