package conntest

import (
	"go.uber.org/goleak"
)

// LeakOptions make goleak ignore the goroutines a transport library
// starts once per process and never ends: kcp-go's timer scheduler and
// packet post-processors. They are not per connection, so not leaks of
// ours.
var LeakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/xtaci/kcp-go/v5.(*TimedSched).run"),
	goleak.IgnoreAnyFunction("github.com/xtaci/kcp-go/v5.postProcessWorker"),
}

// VerifyTestMain runs the package's tests, then fails if any goroutine
// other than those LeakOptions name is still running. Call it from
// TestMain in every package whose tests open transports. m is usually the
// *testing.M, or a wrapper such as pgtest.M(m) that stops a test server
// before the check.
func VerifyTestMain(m goleak.TestingM, extra ...goleak.Option) {
	goleak.VerifyTestMain(m, append(append([]goleak.Option(nil), LeakOptions...), extra...)...)
}
