package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSnapshot is one reading of a process's counters.
type ProcSnapshot struct {
	At       time.Time
	CPU      time.Duration // user + system time so far
	RSSBytes uint64        // resident set size now
	HWMBytes uint64        // peak resident set size
}

// ReadProc reads /proc/PID/stat and /proc/PID/status.
func ReadProc(pid int) (ProcSnapshot, error) {
	s := ProcSnapshot{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrNoProc, err)
	}
	cpu, err := parseStatCPU(string(stat))
	if err != nil {
		return s, err
	}
	s.CPU = cpu
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrNoProc, err)
	}
	s.RSSBytes, s.HWMBytes = parseStatusMem(string(status))
	return s, nil
}

// parseStatCPU extracts utime+stime from the contents of /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: malformed stat", ErrNoProc)
	}
	f := strings.Fields(stat[i+1:])
	// After ')': state(3) ppid(4) ... utime is field 14, stime 15, i.e.
	// indexes 11 and 12 here.
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: short stat", ErrNoProc)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: bad cpu fields", ErrNoProc)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

func parseStatusMem(status string) (rss, hwm uint64) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &hwm
		default:
			continue
		}
		fs := strings.Fields(v)
		if len(fs) >= 1 {
			if n, err := strconv.ParseUint(fs[0], 10, 64); err == nil {
				*dst = n * 1024
			}
		}
	}
	return rss, hwm
}

// ProcUsage is what a process used between two snapshots.
type ProcUsage struct {
	PID int `json:"pid"`
	// Scope says what the process contains: "server" for a server of its
	// own, "server+generator" when the server runs inside tickbench.
	Scope string `json:"scope"`
	// CPUPct is CPU time over wall time, in percent of one core.
	CPUPct   float64 `json:"cpu_pct"`
	CPUS     float64 `json:"cpu_s"`
	WallS    float64 `json:"wall_s"`
	RSSBytes uint64  `json:"rss_bytes"`
	HWMBytes uint64  `json:"peak_rss_bytes"`
}

// Usage computes the usage between a and b (b later).
func Usage(pid int, scope string, a, b ProcSnapshot) ProcUsage {
	u := ProcUsage{PID: pid, Scope: scope, RSSBytes: b.RSSBytes, HWMBytes: b.HWMBytes}
	wall := b.At.Sub(a.At)
	cpu := b.CPU - a.CPU
	u.WallS, u.CPUS = wall.Seconds(), cpu.Seconds()
	if wall > 0 {
		u.CPUPct = 100 * cpu.Seconds() / wall.Seconds()
	}
	return u
}

func (u *ProcUsage) String() string {
	return fmt.Sprintf("pid %d (%s): CPU %.1f%% of one core (%.2fs over %.2fs), RSS %.1f MiB, peak %.1f MiB",
		u.PID, u.Scope, u.CPUPct, u.CPUS, u.WallS, float64(u.RSSBytes)/(1<<20), float64(u.HWMBytes)/(1<<20))
}
