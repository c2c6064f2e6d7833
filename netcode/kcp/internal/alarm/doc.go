// Package alarm is a one-shot wake-up for a single waiting goroutine that
// other goroutines may move: the timer of a KCP endpoint's timer loop.
//
// Why not time.Timer: when a Go process has nothing to run, the runtime
// sleeps in epoll_wait, whose timeout is in whole milliseconds (rounded
// up), so a timer due in 300 µs fires after about a millisecond and one
// due in 1.2 ms after about two. The endpoint's redundant copies are due
// 1 ms or less after their original (a loss is repaired by the copy, so
// its lateness is the loss tail), and a millisecond of slack doubled it.
// On Linux an Alarm is a timerfd read through the runtime's poller: the
// kernel's high-resolution timer makes the fd readable and epoll returns
// at once, within microseconds of the deadline. Elsewhere it falls back
// to a time.Timer.
//
// Set is one system call (timerfd_settime) on Linux: callers set the
// alarm when the deadline moves earlier, not on every event.
package alarm
