package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOriginPolicy(t *testing.T) {
	p, err := NewOriginPolicy([]string{"https://game.example.com", " *.example.org ", "play.example.net:8443", "HTTP://Dev.Example.IO:5173/", "https://cdn.example.com:443"})
	require.NoError(t, err)
	const host = "api.example.com:7780" // the request's Host
	for name, tc := range map[string]struct {
		origin string
		want   bool
	}{
		"same host":                  {"https://api.example.com:7780", true},
		"same host other port":       {"https://api.example.com:7781", false},
		"same name other scheme ok":  {"http://api.example.com:7780", true},
		"localhost any port":         {"http://localhost:5173", true},
		"localhost no port":          {"http://localhost", true},
		"localhost upper case":       {"http://LOCALHOST:3000", true},
		"127.0.0.1":                  {"https://127.0.0.1:8443", true},
		"ipv6 loopback":              {"http://[::1]:5173", true},
		"localhost suffix trick":     {"http://localhost.evil.example", false},
		"127.0.0.1 suffix trick":     {"http://127.0.0.1.evil.example", false},
		"localhost prefix trick":     {"http://evil-localhost:5173", false},
		"other loopback not listed":  {"http://127.0.0.2:5173", false},
		"exact":                      {"https://game.example.com", true},
		"exact default port written": {"https://game.example.com:443", true},
		"exact wrong scheme":         {"http://game.example.com", false},
		"exact wrong port":           {"https://game.example.com:8443", false},
		"exact suffix trick":         {"https://game.example.com.evil.test", false},
		"exact prefix trick":         {"https://evilgame.example.com", false},
		"exact as subdomain":         {"https://x.game.example.com", false},
		"upper-case origin":          {"HTTPS://GAME.EXAMPLE.COM", true},
		"subdomain":                  {"https://play.example.org", true},
		"deep subdomain":             {"http://a.b.example.org", true},
		"subdomain pattern not apex": {"https://example.org", false},
		"subdomain suffix trick":     {"https://example.org.evil.test", false},
		"subdomain glued":            {"https://evilexample.org", false},
		"subdomain with port":        {"https://play.example.org:8443", false},
		"host:port any scheme":       {"https://play.example.net:8443", true},
		"host:port http":             {"http://play.example.net:8443", true},
		"host:port no port":          {"https://play.example.net", false},
		"pattern with trailing /":    {"http://dev.example.io:5173", true},
		"pattern default port":       {"https://cdn.example.com", true},
		"null":                       {"null", false},
		"garbage":                    {"::::", false},
		"path":                       {"https://game.example.com/x", false},
		"user":                       {"https://u@game.example.com", false},
		"no scheme":                  {"game.example.com", false},
		"empty port":                 {"https://game.example.com:", false},
		"foreign":                    {"https://evil.test", false},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.AllowsOrigin(tc.origin, host))
		})
	}
}

func TestOriginPolicyDefaultAndAny(t *testing.T) {
	var none *OriginPolicy // nil: the built-in rule only
	assert.True(t, none.AllowsOrigin("http://localhost:5173", "x:1"))
	assert.True(t, none.AllowsOrigin("https://game.example.com", "game.example.com"))
	assert.True(t, none.AllowsOrigin("https://game.example.com", "GAME.example.com:443"), "the Host may write the default port")
	assert.True(t, none.AllowsOrigin("http://[2001:db8::1]:8080", "[2001:db8::1]:8080"))
	assert.False(t, none.AllowsOrigin("https://game.example.com", "game.example.com:8443"))
	assert.False(t, none.AllowsOrigin("https://evil.test", "game.example.com"))
	empty, err := NewOriginPolicy(nil)
	require.NoError(t, err)
	assert.False(t, empty.AllowsOrigin("https://evil.test", "game.example.com"))

	anyOrigin, err := NewOriginPolicy([]string{"*"})
	require.NoError(t, err)
	assert.True(t, anyOrigin.AllowsOrigin("https://evil.test", "game.example.com"))
	assert.True(t, anyOrigin.AllowsOrigin("tauri://localhost", "game.example.com"))
	assert.False(t, anyOrigin.AllowsOrigin("null", "game.example.com"), "null names no page, even under *")
	assert.False(t, anyOrigin.AllowsOrigin("::::", "game.example.com"))
	for _, hostless := range []string{"file://", "https://", "https://:443", "data:text/html,x"} {
		assert.False(t, anyOrigin.AllowsOrigin(hostless, "game.example.com"), "%q has no host", hostless)
	}

	r := httptest.NewRequest(http.MethodGet, "http://game.example.com/", nil)
	assert.True(t, empty.Allows(r), "no Origin: not a browser")
	r.Header.Set("Origin", "https://evil.test")
	assert.False(t, empty.Allows(r))
}

func TestOriginPolicyBadPatterns(t *testing.T) {
	for name, pattern := range map[string]string{
		"empty":             "",
		"bracket":           "[",
		"glob char":         "game-?.example.com",
		"inner star":        "game.*.example.com",
		"star suffix":       "game.example.*",
		"scheme star":       "https://*",
		"path":              "https://game.example.com/play",
		"query":             "https://game.example.com?x",
		"user":              "https://u@game.example.com",
		"bad port":          "game.example.com:http",
		"port out of range": "game.example.com:70000",
		"port zero":         "game.example.com:0",
		"empty port":        "game.example.com:",
		"empty label":       "game..example.com",
		"bad scheme":        "1http://game.example.com",
		"no host":           "https://",
		"space inside":      "game example.com",
		"trailing dot":      "game.example.com.",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewOriginPolicy([]string{"https://fine.example", pattern})
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBadOrigin), "%v", err)
		})
	}
}
