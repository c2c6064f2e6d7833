package bench

import (
	"encoding/json"
	"fmt"
	"strings"
)

// goal is one performance target that a matrix run can check from its own
// rows: the targets of docs/PERFORMANCE.md ("Targets at a glance") and of
// the issues that tickbench measures. (The name target is taken: Target is
// the server under test.) Ratios compare rows of the same run, as
// docs/BENCHMARKING.md asks.
type goal struct {
	// Name says what is promised, in docs/PERFORMANCE.md's words.
	Name string
	// Issues are the issues that set the target.
	Issues []int
	// check measures the goal in the runs: what it measured and whether
	// that meets the goal; ok is false when the runs hold no row for it.
	check func(runs []*Report) (measured string, met, ok bool)
}

// GoalStatus is the outcome of checking one goal against a set of runs.
type GoalStatus int

// The outcomes of a check.
const (
	GoalNotMeasured GoalStatus = iota // the runs have no row for the goal
	GoalMet
	GoalMissed
)

func (s GoalStatus) String() string {
	switch s {
	case GoalMet:
		return "met"
	case GoalMissed:
		return "missed"
	default:
		return "not measured"
	}
}

// GoalResult is one goal checked against a set of runs.
type GoalResult struct {
	Goal     string
	Issues   []int
	Status   GoalStatus
	Measured string // the figures behind the status ("" when not measured)
}

// String is the goal's one line of the report: "met: NAME (#5) — FIGURES".
func (g GoalResult) String() string {
	s := fmt.Sprintf("%s: %s%s", g.Status, g.Goal, issueRefs(g.Issues))
	if g.Measured != "" {
		s += " — " + g.Measured
	}
	return s
}

func issueRefs(issues []int) string {
	if len(issues) == 0 {
		return ""
	}
	refs := make([]string, len(issues))
	for i, n := range issues {
		refs[i] = fmt.Sprintf("#%d", n)
	}
	return " (" + strings.Join(refs, ", ") + ")"
}

// goals are the targets tickbench checks, in the order the report lists
// them.
func goals() []goal {
	return []goal{
		echoP50Ratio(TransportKCP, TransportKCPBare, 1.25, 5),
		echoP50Ratio(TransportKCPUnreliable, TransportUDPRaw, 1.5, 5),
		echoP99Below(TransportKCP, 5, 2000, 5, 11),
		echoP99Below(TransportKCP, 15, 8000, 5, 11),
		echoBytesRatio(TransportKCP, TransportKCPBare, 5, 2, 11),
		echoBytesRatio(TransportKCP, TransportKCPBare, 15, 2, 11),
		echoP50Ratio(TransportWS, TransportTCP, 1.5, 9),
		echoP50Ratio(TransportWebRTCUnreliable, TransportKCPUnreliable, 3, 9),
		echoP50Below(TransportLongPoll, 2000, 9),
		roomP99InTick(TransportKCP, 50, 8, 30, 5, 11),
		roomP99InTick(TransportWS, 50, 8, 30, 9),
		roomP99InTick(TransportKCP, 125, 8, 30, 3, 5, 11),
		roomCPUPerInput(TransportKCP, 50, 8, 30, 10, 11),
		chatXNodeP99Below(TransportKCP, "direct", 5000, 15),
	}
}

// CheckGoals checks each of tickbench's targets against runs, in the
// order the report lists them; a target without a row in runs is
// GoalNotMeasured.
func CheckGoals(runs []*Report) []GoalResult {
	gs := goals()
	out := make([]GoalResult, 0, len(gs))
	for _, g := range gs {
		r := GoalResult{Goal: g.Name, Issues: g.Issues}
		if m, met, ok := g.check(runs); ok {
			r.Measured, r.Status = m, GoalMissed
			if met {
				r.Status = GoalMet
			}
		}
		out = append(out, r)
	}
	return out
}

// echoRow finds the echo row of transport at loss (percent, no other
// impairment).
func echoRow(runs []*Report, transport string, lossPct float64) (Result, bool) {
	label := Impairment{LossPct: lossPct}.Label()
	for _, r := range runs {
		if r.Scenario != "echo" {
			continue
		}
		for _, x := range r.Results {
			if x.Name == transport && x.Impairment == label && x.Received > 0 {
				return x, true
			}
		}
	}
	return Result{}, false
}

// lossLabel is " at 5 % loss", or "" for none.
func lossLabel(lossPct float64) string {
	if lossPct == 0 {
		return ""
	}
	return fmt.Sprintf(" at %g %% loss", lossPct)
}

func echoP50Ratio(t, base string, most float64, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("echo: %s p50 ≤ %g× %s p50", t, most, base),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, ok1 := echoRow(runs, t, 0)
			b, ok2 := echoRow(runs, base, 0)
			if !ok1 || !ok2 || b.P50Us == 0 {
				return "", false, false
			}
			ratio := x.P50Us / b.P50Us
			return fmt.Sprintf("%s vs %s (%.2f×)", fmtUs(x.P50Us), fmtUs(b.P50Us), ratio), ratio <= most, true
		},
	}
}

func echoP99Below(t string, lossPct, limitUs float64, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("echo: %s p99 < %g ms%s", t, limitUs/1000, lossLabel(lossPct)),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, ok := echoRow(runs, t, lossPct)
			if !ok {
				return "", false, false
			}
			m := "p99 " + fmtUs(x.P99Us)
			if b, ok := echoRow(runs, TransportKCPBare, lossPct); ok && t != TransportKCPBare {
				m += fmt.Sprintf(" (%s %s)", TransportKCPBare, fmtUs(b.P99Us))
			}
			return m, x.P99Us < limitUs, true
		},
	}
}

func echoP50Below(t string, limitUs float64, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("echo: %s p50 ≤ %g ms", t, limitUs/1000),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, ok := echoRow(runs, t, 0)
			if !ok {
				return "", false, false
			}
			return "p50 " + fmtUs(x.P50Us), x.P50Us <= limitUs, true
		},
	}
}

func echoBytesRatio(t, base string, lossPct, most float64, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("echo: %s wire bytes per message ≤ %g× %s's%s", t, most, base, lossLabel(lossPct)),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, ok1 := echoRow(runs, t, lossPct)
			b, ok2 := echoRow(runs, base, lossPct)
			if !ok1 || !ok2 || x.WireBytesPerMsg == 0 || b.WireBytesPerMsg == 0 {
				return "", false, false
			}
			ratio := x.WireBytesPerMsg / b.WireBytesPerMsg
			return fmt.Sprintf("%.0f vs %.0f B (%.2f×)", x.WireBytesPerMsg, b.WireBytesPerMsg, ratio), ratio <= most, true
		},
	}
}

// roomShape is the part of a room run's config that goals look at. A
// report's Config is a RoomConfig when the run was made in this process
// and a map when it was read back from JSON; both marshal to this.
type roomShape struct {
	Rooms   int `json:"rooms"`
	Clients int `json:"clients"`
	TickHz  int `json:"tick_hz"`
}

// roomRow finds the room row of transport in a run of rooms × clients at
// tickHz with no impairment.
func roomRow(runs []*Report, transport string, rooms, clients, tickHz int) (Result, bool) {
	x, _, ok := roomRowIn(runs, transport, rooms, clients, tickHz)
	return x, ok
}

// roomRowIn is roomRow and the run that holds the row.
func roomRowIn(runs []*Report, transport string, rooms, clients, tickHz int) (Result, *Report, bool) {
	for _, r := range runs {
		if r.Scenario != "room" {
			continue
		}
		raw, err := json.Marshal(r.Config)
		if err != nil {
			continue
		}
		var s roomShape
		if json.Unmarshal(raw, &s) != nil || s != (roomShape{rooms, clients, tickHz}) {
			continue
		}
		for _, x := range r.Results {
			if x.Name == transport && x.Impairment == (Impairment{}).Label() && x.Received > 0 {
				return x, r, true
			}
		}
	}
	return Result{}, nil, false
}

// roomTickSlackUs is what a room's input-to-broadcast p99 may exceed a
// tick by.
const roomTickSlackUs = 5000

func roomP99InTick(t string, rooms, clients, tickHz int, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("room %d × %d at %d Hz, %s: input-to-broadcast p99 ≤ tick + 5 ms", rooms, clients, tickHz, t),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, ok := roomRow(runs, t, rooms, clients, tickHz)
			if !ok {
				return "", false, false
			}
			limit := 1e6/float64(tickHz) + roomTickSlackUs
			return fmt.Sprintf("p99 %s (limit %s), p50 %s", fmtUs(x.P99Us), fmtUs(limit), fmtUs(x.P50Us)), x.P99Us <= limit, true
		},
	}
}

func roomCPUPerInput(t string, rooms, clients, tickHz int, mostUs float64, issues ...int) goal {
	return goal{
		Name:   fmt.Sprintf("room %d × %d at %d Hz, %s: server CPU ≤ %g µs per input", rooms, clients, tickHz, t, mostUs),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			x, run, ok := roomRowIn(runs, t, rooms, clients, tickHz)
			cpu, ok1 := x.Extra["server_cpu_pct"]
			rate, ok2 := x.Extra["inputs_per_s"]
			if !ok || !ok1 || !ok2 || rate == 0 {
				return "", false, false
			}
			perInput := cpu / 100 / rate * 1e6
			m := fmt.Sprintf("%.1f µs per input (server %.0f %% of a core, %.0f inputs/s)", perInput, cpu, rate)
			// The floor of the same workload, when the same run measured it.
			if floor, imp, ok := floorPerInput(run.Results); ok && imp == x.Impairment {
				m += fmt.Sprintf(" (raw-UDP floor in this run: %.1f µs per input)", floor)
			}
			return m, perInput <= mostUs, true
		},
	}
}

// chatXNodeP99Below is a cross-node chat row's send-to-delivery p99
// limit (a chat run against a cluster, no impairment).
func chatXNodeP99Below(t, kind string, limitUs float64, issues ...int) goal {
	name := t + "/" + kind + "-xnode"
	return goal{
		Name:   fmt.Sprintf("chat across nodes, %s: %s message send-to-delivery p99 ≤ %g ms", t, kind, limitUs/1000),
		Issues: issues,
		check: func(runs []*Report) (string, bool, bool) {
			for _, r := range runs {
				if r.Scenario != "chat" {
					continue
				}
				for _, x := range r.Results {
					if x.Name == name && x.Impairment == (Impairment{}).Label() && x.Received > 0 {
						return fmt.Sprintf("p99 %s, p50 %s over %.0f nodes", fmtUs(x.P99Us), fmtUs(x.P50Us), x.Extra["nodes"]),
							x.P99Us <= limitUs, true
					}
				}
			}
			return "", false, false
		},
	}
}
