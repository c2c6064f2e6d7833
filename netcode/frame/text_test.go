package frame

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestCleanText(t *testing.T) {
	fields := map[string]TextField{"display": TextDisplayName, "group": TextGroupName, "status": TextStatus, "label": TextRoomLabel}
	refused := map[string]string{
		"rtl override":   "evil\u202Egnp.exe",
		"zero width":     "ad\u200Bmin",
		"word joiner":    "a\u2060b",
		"bom":            "\uFEFFx",
		"lrm":            "a\u200Eb",
		"isolate":        "a\u2066b",
		"control":        "a\x07b",
		"newline":        "a\nb",
		"invalid utf8":   "a\xffb",
		"replacement":    "a\uFFFDb",
		"soft hyphen":    "ad\u00ADmin",
		"arabic mark":    "a\u061Cb",
		"too long":       strings.Repeat("x", MaxStatusText+1),
		"nul":            "a\x00",
		"delete control": "a\x7f",
	}
	for fname, f := range fields {
		for name, s := range refused {
			t.Run(fname+"/"+name, func(t *testing.T) {
				_, err := CleanText(f, s)
				require.Error(t, err)
				assert.Equal(t, f.Code, netcode.CodeOf(err))
			})
		}
	}
	got, err := CleanText(TextDisplayName, "  Ame\u0301lie  ") // decomposed é
	require.NoError(t, err)
	assert.Equal(t, "Am\u00e9lie", got, "trimmed and NFC")
	got, err = CleanText(TextDisplayName, "👩\u200D🚀 crew")
	require.NoError(t, err, "ZWJ emoji sequences are allowed")
	assert.Equal(t, "👩\u200D🚀 crew", got)
	_, err = CleanText(TextGroupName, "   ")
	assert.Equal(t, netcode.CodeBadGroupName, netcode.CodeOf(err), "group names may not be empty")
	got, err = CleanText(TextStatus, "")
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = CleanText(TextDisplayName, strings.Repeat("é", MaxNameLen/2))
	require.NoError(t, err, "limit counts bytes: 32 two-byte runes fit in 64")
	_, err = CleanText(TextDisplayName, strings.Repeat("é", MaxNameLen/2+1))
	require.Error(t, err)
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"alice", "a\u202Eb", "Ame\u0301lie", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CleanText(TextStatus, s)
		if err != nil {
			return
		}
		again, err := CleanText(TextStatus, out)
		require.NoError(t, err, "clean text stays clean")
		require.Equal(t, out, again, "cleaning is idempotent")
		require.LessOrEqual(t, len(out), MaxStatusText)
	})
}
