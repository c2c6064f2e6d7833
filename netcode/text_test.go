package netcode

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTruncateUTF8(t *testing.T) {
	assert.Equal(t, "abc", TruncateUTF8("abc", 5))
	assert.Equal(t, "ab", TruncateUTF8("abc", 2))
	assert.Equal(t, "a", TruncateUTF8("aé", 2), "é is two bytes: cut before it")
	assert.Equal(t, "", TruncateUTF8("é", 1))
	assert.Equal(t, "aé", TruncateUTF8("aé€", 4))
	assert.Equal(t, "", TruncateUTF8("abc", -1))
}

func FuzzTruncateUTF8(f *testing.F) {
	f.Add("aé€𝄞", 5)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := TruncateUTF8(s, n)
		assert.LessOrEqual(t, len(got), max(n, 0))
		assert.Equal(t, s[:len(got)], got, "a prefix of s")
		if utf8.ValidString(s) {
			assert.True(t, utf8.ValidString(got))
			if n >= 0 && n < len(s) {
				assert.Greater(t, len(got), n-utf8.UTFMax, "cut at the last boundary")
			}
		}
	})
}
