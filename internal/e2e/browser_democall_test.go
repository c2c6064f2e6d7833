package e2e

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demoCall is demo.state().call.
type demoCall struct {
	ID                uint64 `json:"id"`
	State             string `json:"state"`
	Reason            string `json:"reason"`
	Incoming          bool   `json:"incoming"`
	PeerID            string `json:"peerId"`
	AnsweredElsewhere bool   `json:"answeredElsewhere"`
}

// TestBrowserDemoCall is the demo's call between friends, through its
// controls: ann rings bob from her friend list, bob's call bar rings and
// he accepts, both show the call, ann hangs up, both show it ended.
func TestBrowserDemoCall(t *testing.T) {
	srv := demoServer(t)
	b := startBrowser(t)
	ta, tbb := b.newTab(t, "ann"), b.newTab(t, "bob")
	openDemo(t, ta, srv, "")
	openDemo(t, tbb, srv, "")
	A := demoRegister(t, ta, "ann_call")
	B := demoRegister(t, tbb, "bob_call")
	ta.eval(t, `demo.addFriend("bob_call").then(() => true)`, nil)
	tbb.waitJS(t, fmt.Sprintf(`document.querySelector(%q) !== null`, byTestSel("request-in-"+A.userID)), demoStep)
	demoClick(t, tbb, "friend-accept-"+A.userID)
	ta.waitJS(t, fmt.Sprintf(`document.querySelector(%q)?.dataset.presence === "online"`, byTestSel("friend-"+B.userID)), demoStep)

	callOf := func(tb *tab) demoCall {
		var c *demoCall
		tb.eval(t, `demo.state().call`, &c)
		require.NotNil(t, c)
		return *c
	}
	barIs := func(tb *tab, state string) {
		t.Helper()
		tb.waitJS(t, fmt.Sprintf(`document.querySelector(%q)?.dataset.state === %q && !document.querySelector(%q).hidden`,
			byTestSel("call-bar"), state, byTestSel("call-bar")), demoStep)
	}

	demoClick(t, ta, "friend-call-"+B.userID)
	barIs(ta, "ringing")
	barIs(tbb, "ringing")
	var text string
	tbb.eval(t, demoTextJS("call-text"), &text)
	assert.Equal(t, "Ann_call is calling…", text)
	c := callOf(tbb)
	assert.True(t, c.Incoming)
	assert.Equal(t, A.userID, c.PeerID)

	demoClick(t, tbb, "call-accept")
	barIs(ta, "active")
	barIs(tbb, "active")
	assert.Equal(t, c.ID, callOf(ta).ID)
	assert.False(t, callOf(tbb).AnsweredElsewhere)

	demoClick(t, ta, "call-hangup")
	barIs(ta, "ended")
	barIs(tbb, "ended")
	for _, tb := range []*tab{ta, tbb} {
		got := callOf(tb)
		assert.Equal(t, "hung_up", got.Reason)
		tb.requireNoProblems(t)
	}
}
