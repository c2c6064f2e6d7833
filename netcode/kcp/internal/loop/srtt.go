package loop

import (
	"reflect"
	"time"
	"unsafe"

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// srttOffset is the offset of kcp-go's smoothed RTT (KCP.rx_srtt, int32
// milliseconds) in its KCP struct. kcp-go exports it only through a
// UDPSession (GetSRTT), which the Loop does not use; reflection finds the
// field by name so that a kcp-go upgrade that renames or retypes it is
// caught at start (srttOK false: SRTT reports 0) and by TestSRTTField,
// never read at a wrong offset.
var srttOffset, srttOK = func() (uintptr, bool) {
	f, ok := reflect.TypeFor[kcpgo.KCP]().FieldByName("rx_srtt")
	if !ok || f.Type.Kind() != reflect.Int32 {
		return 0, false
	}
	return f.Offset, true
}()

// SRTT is the core's smoothed round-trip time (0 before the first
// acknowledgement).
func (s *Session) SRTT() time.Duration {
	if !srttOK {
		return 0
	}
	ms := *(*int32)(unsafe.Add(unsafe.Pointer(s.kcp), srttOffset))
	return time.Duration(ms) * time.Millisecond
}
