package loop

import (
	_ "unsafe" // for go:linkname

	kcpgo "github.com/xtaci/kcp-go/v5"
)

// kcpFlush is kcp-go's (*KCP).flush, which the package does not export
// (the C original exports it as ikcp_flush). Update, the exported way
// in, flushes only on the core's own interval grid, so a message sent
// between two grid points would wait up to an interval (10 ms); the Loop
// flushes a core as soon as it has something to send, as a UDPSession
// does on Write. It returns the milliseconds until the core next needs a
// flush (the interval, or sooner for a retransmission timeout).
//
// The signature is that of github.com/xtaci/kcp-go/v5 v5.7.5 (go.mod pins
// it); TestFlushLinkname checks the behaviour, and an upgrade of kcp-go
// must check the signature. docs/DECISIONS.md, "KCP event loops
// (issue 11)", says why and what would replace it.
//
//go:linkname kcpFlush github.com/xtaci/kcp-go/v5.(*KCP).flush
func kcpFlush(k *kcpgo.KCP, t kcpgo.FlushType) uint32
