package netcode

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/PROTOCOL.md is what client authors in other languages read: its
// table of every code must match codes.go row for row (number, name and
// whether to reconnect), and every other code table in it must use the
// right number beside each name.
func TestProtocolDocListsEveryCode(t *testing.T) {
	raw, err := os.ReadFile("../docs/PROTOCOL.md")
	require.NoError(t, err)
	doc := string(raw)
	i := strings.Index(doc, "## 6. Every code")
	require.NotEqual(t, -1, i, "section 6 missing")
	every := doc[i:]
	if j := strings.Index(every[1:], "\n## "); j >= 0 {
		every = every[:j+1]
	}

	row := regexp.MustCompile("(?m)^\\| *(\\d+) *\\| *`([a-z_]+)` *\\|[^|]*\\| *(yes|no) *\\|$")
	seen := map[Code]bool{}
	for _, m := range row.FindAllStringSubmatch(every, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		c := Code(n)
		assert.False(t, seen[c], "code %d listed twice", n)
		seen[c] = true
		_, known := codeNames[c]
		if !assert.True(t, known, "PROTOCOL.md lists code %d (%s), codes.go does not", n, m[2]) {
			continue
		}
		assert.Equal(t, c.String(), m[2], "name of code %d", n)
		assert.Equal(t, c.MayReconnect(), m[3] == "yes", "reconnect? of code %d (%s)", n, m[2])
	}
	for c := range codeNames {
		assert.True(t, seen[c], "code %d (%s) missing from PROTOCOL.md section 6", c, c)
	}

	// Elsewhere codes appear as `| 5 | bad_token |` or "`bad_token` (5)".
	byName := map[string]Code{}
	for c, n := range codeNames {
		byName[n] = c
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile("(?m)^\\| *(\\d+) *\\| *`?([a-z_]+)`? *\\|"),
		regexp.MustCompile("`([a-z_]+)` \\((\\d+)\\)"),
	} {
		for _, m := range re.FindAllStringSubmatch(doc, -1) {
			num, name := m[1], m[2]
			if _, err := strconv.Atoi(num); err != nil {
				num, name = name, num
			}
			c, ok := byName[name]
			if !ok {
				continue // a kind or field table, not a code
			}
			assert.Equal(t, strconv.Itoa(int(c)), num, "PROTOCOL.md: %q", m[0])
		}
	}
}
