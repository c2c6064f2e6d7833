package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
)

// profiler writes a CPU profile of this process between start and stop
// (the measured phase of a run). Its zero path makes it a no-op. start
// and stop are called from one goroutine each, start before stop.
type profiler struct {
	path string
	f    *os.File
	err  error // from start, reported by stop
}

func newProfiler(path string) *profiler { return &profiler{path: path} }

func (p *profiler) start() {
	if p.path == "" {
		return
	}
	f, err := os.Create(p.path)
	if err != nil {
		p.err = fmt.Errorf("cpu profile: %w", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close() // the start error is the one reported
		p.err = fmt.Errorf("cpu profile: %w", err)
		return
	}
	p.f = f
}

// stop ends the profile and closes its file; it reports what failed.
func (p *profiler) stop() error {
	if p.f == nil {
		return p.err
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return nil
}

// profilePath is the profile file of transport t in a run of n
// transports: path itself for one, else t inserted before the extension
// (room.pprof -> room.kcp.pprof).
func profilePath(path, t string, n int) string {
	if path == "" || n <= 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + t + ext
}
