package netcode

import "unicode/utf8"

// TruncateUTF8 cuts s to at most n bytes at a character boundary, so that
// a close reason or error message fits its wire limit and stays valid
// UTF-8 (as long as s was).
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
