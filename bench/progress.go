package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
)

// Progress draws a live one-line progress bar on a terminal. On anything
// else (a pipe, a file, a CI log) it draws nothing. A nil *Progress is
// valid and does nothing, so scenario code calls it unconditionally.
type Progress struct {
	w     io.Writer
	label string
	total int64
	done  atomic.Int64
	start time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Bar returns a factory of progress bars drawing to f when it is a
// terminal, or nil (no bars) otherwise.
func Bar(f *os.File) func(label string, total int64) *Progress {
	if f == nil || !IsTerminal(f) {
		return nil
	}
	return func(label string, total int64) *Progress { return StartProgress(f, label, total) }
}

// StartProgress starts drawing a bar on w, refreshed ten times a second
// until Stop.
func StartProgress(w io.Writer, label string, total int64) *Progress {
	p := &Progress{w: w, label: label, total: total, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go p.run()
	return p
}

// Add counts n more units done.
func (p *Progress) Add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// Stop draws the final state, ends the line and waits for the drawing
// goroutine. Idempotent.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.draw()
		fmt.Fprint(p.w, "\r\033[K")
	})
}

func (p *Progress) run() {
	defer p.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

// render formats the bar for done of total after elapsed.
func render(label string, done, total int64, elapsed time.Duration) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	if frac > 1 {
		frac = 1
	}
	n := int(frac * width)
	return fmt.Sprintf("%-24s [%s%s] %3.0f%% %d/%d %s", label,
		strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, done, total, elapsed.Truncate(100*time.Millisecond))
}

func (p *Progress) draw() {
	fmt.Fprint(p.w, "\r"+render(p.label, p.done.Load(), p.total, time.Since(p.start))+"\033[K")
}
