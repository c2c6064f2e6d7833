package tcprtt

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// rawRTT reads TCP_INFO on raw's socket: tcpi_rtt, in microseconds.
func rawRTT(raw syscall.RawConn) time.Duration {
	var rtt uint32
	err := raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			rtt = info.Rtt
		}
	})
	if err != nil {
		return 0
	}
	return time.Duration(rtt) * time.Microsecond
}
