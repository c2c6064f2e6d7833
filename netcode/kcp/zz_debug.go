package kcp

import (
	"fmt"
	"os"
	"sync/atomic"
)

// TEMPORARY profiling counters (removed before report).
var dbgCount [8]atomic.Uint64

func dbgClassify(typ byte, b []byte) {
	switch typ {
	case typeKCP:
		p := b[sessionHeaderSize:]
		if len(p) >= kcpOverhead && p[4] == 82 && len(p) == kcpOverhead*(len(p)/kcpOverhead) {
			allAck := true
			for q := p; len(q) >= kcpOverhead; q = q[kcpOverhead:] {
				if q[4] != 82 {
					allAck = false
				}
			}
			if allAck {
				dbgCount[1].Add(1)
				return
			}
		}
		dbgCount[0].Add(1)
	case typeUnreliable:
		dbgCount[2].Add(1)
	case typeControl:
		dbgCount[3].Add(1)
	}
}

func DebugDump() {
	fmt.Fprintf(os.Stderr, "DBG kcpdata=%d ackonly=%d unrel=%d control=%d\n", dbgCount[0].Load(), dbgCount[1].Load(), dbgCount[2].Load(), dbgCount[3].Load())
}

func DebugReset() {
	for i := range dbgCount {
		dbgCount[i].Store(0)
	}
}
