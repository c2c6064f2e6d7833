package accounts

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/httpapi"
)

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"alice", "Alice_01", "'; DROP TABLE users; --", `robert"); --`, "José", "Jose\u0301",
		"名前です", "مرحبا", "gamer🎮", "ali\u200Bce", "abc\u202Edef", "ＡＬＩＣＥ", "Straße", "ǅemal", "ﬁsh", "\u0301abc", "", "   ", "abc\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, key, err := NormalizeUsername(raw)
		if err != nil {
			require.Equal(t, netcode.CodeBadUsername, netcode.CodeOf(err))
			return
		}
		n := utf8.RuneCountInString(name)
		require.True(t, n >= MinUsernameRunes && n <= MaxUsernameRunes, "%q has %d characters", name, n)
		require.LessOrEqual(t, len(name), MaxNameBytes)
		require.NotEmpty(t, key)
		// idempotent: the stored name normalizes to itself and the same key
		name2, key2, err := NormalizeUsername(name)
		require.NoError(t, err, "%q -> %q", raw, name)
		require.Equal(t, name, name2)
		require.Equal(t, key, key2)
		// case variants share the key
		if up := strings.ToUpper(name); up != name {
			if _, k, err := NormalizeUsername(up); err == nil {
				require.Equal(t, key, k, "%q vs %q", name, up)
			}
		}
	})
}

func FuzzDecodeCredentials(f *testing.F) {
	for _, s := range []string{
		`{"username":"alice","password":"correct horse"}`,
		`{"username":"alice","password":"` + strings.Repeat("p", 600) + `"}`,
		`{"username":"alice","password":"correct horse","display_name":"A"}`,
		`{"username":"alice","password":"x","admin":true}`,
		`{"username":42}`, `null`, `[]`, ``, `{} {}`, `{"username":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var c Credentials
		r := httptest.NewRequest("POST", "/v1/auth/register", bytes.NewReader(body))
		err := httpapi.DecodeJSON(httptest.NewRecorder(), r, &c, 512)
		if err != nil {
			code := netcode.CodeOf(err)
			require.True(t, code == netcode.CodeBadRequest || code == netcode.CodeFrameTooLarge, "code %v", code)
			return
		}
		// what decoded re-encodes and decodes to the same value
		var again Credentials
		enc, merr := jsonMarshal(c)
		require.NoError(t, merr)
		require.NoError(t, json.Unmarshal(enc, &again))
		require.Equal(t, c, again)
	})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
