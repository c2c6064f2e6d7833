package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/tickwire/tickwire/engine/logsum"
)

// logSummaries logs the activity line every Config.LogSummaryInterval
// until Shutdown starts (sumWG), counting from sum's baseline (Run's).
func (e *Engine) logSummaries(sum *logsum.Summary) {
	defer e.sumWG.Done()
	t := time.NewTicker(e.cfg.LogSummaryInterval)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
			e.logActivity(sum)
		}
	}
}

// logActivity logs, at Info, the counters that moved since the previous
// call; nothing when nothing moved.
func (e *Engine) logActivity(sum *logsum.Summary) {
	st := e.ServiceStats()
	attrs := sum.Delta(activity(st))
	if len(attrs) == 0 {
		return
	}
	e.log.LogAttrs(context.Background(), slog.LevelInfo, "activity",
		append([]slog.Attr{slog.Duration("interval", e.cfg.LogSummaryInterval), slog.Int64("sessions_open", st.SessionsOpen)}, attrs...)...)
}

// activity flattens the counters the activity line reports.
func activity(st Stats) logsum.Counts {
	c := logsum.Counts{}
	c.Add("sessions_opened", st.SessionsTotal)
	c.Add("handshakes", st.Handshakes)
	c.AddAll("closes", st.Closes)
	c.AddAll("refused", st.SessionsRefused)
	c.AddAll("drops", st.Drops)
	c.AddAll("errors", st.Errors)
	c.Add("resumed", st.Resume.Resumed)
	c.Add("parked", st.Resume.ParkedTotal)
	c.Add("resume_expired", st.Resume.Expired)
	c.AddAll("resume_refused", st.Resume.Refused)
	for _, ls := range st.Listeners {
		p := "listener." + ls.Transport
		c.Add(p+".handshakes", ls.HandshakesStarted)
		c.Add(p+".accepted", ls.Accepted)
		c.AddAll(p+".refused", ls.Refused)
		c.AddAll(p+".drops", ls.Drops)
		c.Add(p+".accept_errors", ls.AcceptErrors)
	}
	return c
}
