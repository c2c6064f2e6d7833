package accounts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
)

func TestNormalizeUsername(t *testing.T) {
	tests := map[string]struct {
		raw      string
		name     string // "" means refused with CodeBadUsername
		key      string
		contains string // part of the error message
	}{
		"ascii":              {raw: "Alice_01", name: "Alice_01", key: "alice_01"},
		"dots and hyphens":   {raw: "a.b-c", name: "a.b-c", key: "a.b-c"},
		"accented":           {raw: "José", name: "José", key: "josé"},
		"decomposed accent":  {raw: "Jose\u0301", name: "José", key: "josé"},
		"cjk":                {raw: "名前です", name: "名前です", key: "名前です"},
		"arabic rtl":         {raw: "مرحبا", name: "مرحبا", key: "مرحبا"},
		"hebrew rtl":         {raw: "שלום", name: "שלום", key: "שלום"},
		"fullwidth":          {raw: "ＡＬＩＣＥ", name: "ALICE", key: "alice"},
		"german sharp s":     {raw: "Straße", name: "Straße", key: "strasse"},
		"digits first":       {raw: "42abc", name: "42abc", key: "42abc"},
		"empty":              {raw: "", contains: "empty"},
		"only spaces":        {raw: "     ", contains: "U+0020"},
		"inner space":        {raw: "al ice", contains: "U+0020"},
		"too short":          {raw: "ab", contains: "shorter"},
		"too long":           {raw: strings.Repeat("a", 33), contains: "longer"},
		"10 KB":              {raw: strings.Repeat("x", 10<<10), contains: "longer"},
		"sql injection":      {raw: "'; DROP TABLE users; --", contains: "U+0027"},
		"sql quote paren":    {raw: `robert"); --`, contains: "U+0022"},
		"emoji":              {raw: "gamer🎮", contains: "U+1F3AE"},
		"zero width space":   {raw: "ali\u200Bce", contains: "U+200B"},
		"zero width joiner":  {raw: "ali\u200Dce", contains: "U+200D"},
		"rtl override":       {raw: "abc\u202Edef", contains: "U+202E"},
		"nul":                {raw: "abc\x00def", contains: "U+0000"},
		"newline":            {raw: "abc\ndef", contains: "U+000A"},
		"leading underscore": {raw: "_abc", contains: "start"},
		"leading mark":       {raw: "\u0301abc", contains: "combining"},
		"invalid utf8":       {raw: "abc\xff", contains: "UTF-8"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, key, err := NormalizeUsername(tc.raw)
			if tc.name == "" {
				require.Error(t, err)
				assert.Equal(t, netcode.CodeBadUsername, netcode.CodeOf(err))
				assert.Contains(t, err.Error(), tc.contains)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.name, got)
			assert.Equal(t, tc.key, key)
		})
	}
}

func TestNormalizePassword(t *testing.T) {
	_, err := NormalizePassword("short")
	assert.Equal(t, netcode.CodeBadPassword, netcode.CodeOf(err))
	_, err = NormalizePassword(strings.Repeat("p", 129))
	assert.Equal(t, netcode.CodeBadPassword, netcode.CodeOf(err))
	_, err = NormalizePassword(strings.Repeat("p", 10<<10))
	assert.Equal(t, netcode.CodeBadPassword, netcode.CodeOf(err))
	_, err = NormalizePassword("abcdefgh\xff")
	assert.Equal(t, netcode.CodeBadPassword, netcode.CodeOf(err))
	p, err := NormalizePassword(strings.Repeat("é", 128)) // 256 bytes, 128 characters
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("é", 128), p)
	p, err = NormalizePassword("ｐａｓｓｗｏｒｄ") // fullwidth folds to ASCII
	require.NoError(t, err)
	assert.Equal(t, "password", p)
}

func TestNormalizeDisplayName(t *testing.T) {
	d, err := NormalizeDisplayName("  ", "fallback")
	require.NoError(t, err)
	assert.Equal(t, "fallback", d)
	d, err = NormalizeDisplayName("👩\u200D💻 Dev", "x")
	require.NoError(t, err)
	assert.Equal(t, "👩\u200D💻 Dev", d)
	d, err = NormalizeDisplayName("  Zoe\u0301  ", "x")
	require.NoError(t, err)
	assert.Equal(t, "Zo\u00e9", d, "trimmed and NFC, as frame.CleanText does")
	for _, bad := range []string{"a\x00b", "a\u202Eb", "a\u200Bb", strings.Repeat("d", 65), "a\xffb", strings.Repeat("d", 1<<10)} {
		_, err := NormalizeDisplayName(bad, "x")
		assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err), "%q", bad)
	}
}

// TestInvisibleAndBidiCharactersRefused: every character the one text rule
// (frame.CleanText) forbids is refused in display names with bad_text and
// in usernames with bad_username, wherever it sits in the name.
func TestInvisibleAndBidiCharactersRefused(t *testing.T) {
	forbidden := []rune{
		0x202E, 0x202A, 0x202B, 0x202C, 0x202D, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C, // bidi
		0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E, 0x00AD, // zero-width
		0x0000, 0x0007, 0x001B, 0x007F, // control (U+0085 is also space, trimmed at the ends)
	}
	for _, r := range forbidden {
		for _, s := range []string{string(r) + "abcd", "ab" + string(r) + "cd", "abcd" + string(r)} {
			_, _, err := NormalizeUsername(s)
			assert.Equal(t, netcode.CodeBadUsername, netcode.CodeOf(err), "username %+q", s)
			_, err = NormalizeDisplayName(s, "x")
			assert.Equal(t, netcode.CodeBadText, netcode.CodeOf(err), "display name %+q", s)
		}
	}
}
