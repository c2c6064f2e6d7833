package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type demoVoice struct {
	Me       uint32   `json:"me"`
	Muted    bool     `json:"muted"`
	Speaking []uint32 `json:"speaking"`
	Slots    []uint32 `json:"slots"`
}

// The demo's voice panel in two tabs (Chromium's fake microphone): both
// join the lounge with the Join voice button, each sees the other speak
// (the indicator of the other's row lights) and hears it on a slot, and
// Mute turns the other's indicator off.
// voiceWait bounds the waits for audio to flow end to end.
const voiceWait = 30 * time.Second

func TestBrowserDemoVoice(t *testing.T) {
	srv := demoServer(t)
	b := voiceBrowser(t)
	ta, tbb := b.newTab(t, "ann"), b.newTab(t, "bob")
	openDemo(t, ta, srv, "")
	openDemo(t, tbb, srv, "")
	demoRegister(t, ta, "ann_voice")
	demoRegister(t, tbb, "bob_voice")
	state := func(tb *tab) demoVoice {
		var v *demoVoice
		tb.eval(t, `demo.voiceState()`, &v)
		require.NotNil(t, v)
		return *v
	}
	// Speaking follows audio through two Chromium capture and encode
	// pipelines and the SFU: on a machine busy with other test packages
	// the first packets take longer than a UI step, so these waits get
	// a longer bound (voiceWait).
	lit := func(tb *tab, member uint32, on bool) {
		t.Helper()
		tb.waitJS(t, fmt.Sprintf(`document.querySelector(%q)?.dataset.speaking === %q`,
			byTestSel(fmt.Sprintf("voice-member-%d", member)), fmt.Sprint(on)), voiceWait)
	}
	// Ann speaks before bob joins: bob learns it from the state the
	// server sends at his join (no new speaking event follows while she
	// keeps talking), which his page must not miss.
	demoClick(t, ta, "voice-join")
	ta.waitJS(t, `demo.voiceState() !== null`, demoStep)
	a := state(ta)
	lit(ta, a.Me, true)
	demoClick(t, tbb, "voice-join")
	tbb.waitJS(t, `demo.voiceState() !== null`, demoStep)
	bb := state(tbb)
	lit(ta, bb.Me, true)
	lit(tbb, a.Me, true)
	ta.waitJS(t, fmt.Sprintf(`demo.voiceState().slots.includes(%d)`, bb.Me), voiceWait)
	assert.NotContains(t, state(ta).Slots, a.Me, "never my own voice")

	demoClick(t, tbb, "voice-mute")
	lit(ta, bb.Me, false)
	tbb.waitJS(t, `demo.voiceState().muted === true && document.querySelector('[data-test="voice-mute"]').textContent === "Unmute"`, demoStep)
	demoClick(t, tbb, "voice-leave")
	ta.waitJS(t, fmt.Sprintf(`document.querySelector(%q) === null`, byTestSel(fmt.Sprintf("voice-member-%d", bb.Me))), demoStep)
	ta.requireNoProblems(t)
	tbb.requireNoProblems(t)
}
