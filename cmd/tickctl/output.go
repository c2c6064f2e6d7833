package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// printer writes the command's output: one line per item. It is safe for
// concurrent use (the room command prints from two places).
type printer struct {
	mu sync.Mutex // guards writes to w
	w  io.Writer
}

// emit prints human (a line, without its newline) or, with --json, v as
// one JSON object.
func (a *app) emit(human string, v any) {
	if a.g.json {
		a.out.json(a.out.w, v)
		return
	}
	a.out.mu.Lock()
	defer a.out.mu.Unlock()
	fmt.Fprintln(a.out.w, human)
}

// note prints a human-only hint on stderr; --json output stays clean.
func (a *app) note(format string, args ...any) {
	if a.g.json {
		return
	}
	a.out.mu.Lock()
	defer a.out.mu.Unlock()
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// json writes v as one line of JSON to w.
func (p *printer) json(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":"internal","message":%q}`, err.Error()))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = w.Write(append(b, '\n')) // a broken stdout cannot be reported anywhere
}

// usTime turns server microseconds into a time (nil for 0).
func usTime(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := time.UnixMicro(us).UTC()
	return &t
}

// clock formats a server time for humans, in local time.
func clock(us int64) string {
	if us == 0 {
		return "-"
	}
	return time.UnixMicro(us).Local().Format("2006-01-02 15:04:05")
}

// ago formats how long ago a server time was.
func ago(us int64, now time.Time) string {
	d := now.Sub(time.UnixMicro(us)).Round(time.Second)
	if d < time.Second {
		return "just now"
	}
	return d.String() + " ago"
}

// text shows bytes as text when they are UTF-8, else quoted.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strconv.Quote(string(b))
}

// quoteIf quotes s when it is not empty, for optional fields in lines.
func quoteIf(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + strconv.Quote(s)
}
