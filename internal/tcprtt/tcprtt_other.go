//go:build !linux

package tcprtt

import (
	"syscall"
	"time"
)

// rawRTT is 0 where TCP_INFO is not read (only Linux is).
func rawRTT(syscall.RawConn) time.Duration { return 0 }
