package webrtc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/logging"
	"golang.org/x/time/rate"
)

// pionLogs routes pion's logs to slog. pion logs a line for many things
// a stranger can cause (a malformed STUN packet on the shared port, an
// unknown ICE username), so everything below pion's Error level goes to
// Debug, and Error lines become Warn lines limited to a few per second
// for the whole transport (the rest are dropped).
type pionLogs struct {
	log   *slog.Logger
	limit *rate.Limiter // shared by every scope: one budget per transport
}

func newPionLogs(l *slog.Logger) *pionLogs {
	return &pionLogs{log: l, limit: rate.NewLimiter(rate.Every(time.Second), 5)}
}

// NewLogger implements logging.LoggerFactory.
func (f *pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{f: f, scope: scope}
}

type pionLogger struct {
	f     *pionLogs
	scope string
}

var _ logging.LeveledLogger = (*pionLogger)(nil)

func (p *pionLogger) debug(msg string) {
	if p.f.log.Enabled(context.Background(), slog.LevelDebug) {
		p.f.log.Debug("pion: "+msg, "scope", p.scope)
	}
}

func (p *pionLogger) debugf(format string, args ...any) {
	if p.f.log.Enabled(context.Background(), slog.LevelDebug) {
		p.f.log.Debug("pion: "+fmt.Sprintf(format, args...), "scope", p.scope)
	}
}

func (p *pionLogger) Trace(string)          {}
func (p *pionLogger) Tracef(string, ...any) {}
func (p *pionLogger) Debug(msg string)      { p.debug(msg) }
func (p *pionLogger) Debugf(f string, a ...any) {
	p.debugf(f, a...)
}
func (p *pionLogger) Info(msg string)           { p.debug(msg) }
func (p *pionLogger) Infof(f string, a ...any)  { p.debugf(f, a...) }
func (p *pionLogger) Warn(msg string)           { p.debug(msg) }
func (p *pionLogger) Warnf(f string, a ...any)  { p.debugf(f, a...) }
func (p *pionLogger) Error(msg string)          { p.warn(msg) }
func (p *pionLogger) Errorf(f string, a ...any) { p.warn(fmt.Sprintf(f, a...)) }

func (p *pionLogger) warn(msg string) {
	if p.f.limit.Allow() {
		p.f.log.Warn("pion: "+msg, "scope", p.scope)
		return
	}
	p.debug(msg)
}
