package accounts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashAndVerifyPassword(t *testing.T) {
	h := HashPassword(cheapArgon, "correct horse")
	assert.True(t, strings.HasPrefix(string(h), "$argon2id$v=19$m=64,t=1,p=1$"), string(h))
	h2 := HashPassword(cheapArgon, "correct horse")
	assert.NotEqual(t, h, h2, "fresh salt each time")

	ok, rehash, err := VerifyPassword(h, "correct horse", cheapArgon)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
	ok, _, err = VerifyPassword(h, "correct horsf", cheapArgon)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, rehash, err = VerifyPassword(h, "correct horse", DefaultArgon2())
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, rehash, "parameters differ from the wanted ones")
}

func TestDefaultParamsHash(t *testing.T) {
	require.NoError(t, DefaultArgon2().validate())
	h := HashPassword(DefaultArgon2(), "password123")
	assert.True(t, strings.HasPrefix(string(h), "$argon2id$v=19$m=19456,t=2,p=1$"), string(h))
	ok, rehash, err := VerifyPassword(h, "password123", DefaultArgon2())
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	good := string(HashPassword(cheapArgon, "password123"))
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"old version":   strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64", "m=4194304", 1),
		"huge time":     strings.Replace(good, "t=1", "t=1000", 1),
		"zero threads":  strings.Replace(good, "p=1", "p=0", 1),
		"many threads":  strings.Replace(good, "p=1", "p=300", 1),
		"reordered":     strings.Replace(good, "m=64,t=1", "t=1,m=64", 1),
		"bad salt b64":  strings.Join([]string{"", parts[1], parts[2], parts[3], "!!!!", parts[5]}, "$"),
		"short salt":    strings.Join([]string{"", parts[1], parts[2], parts[3], "YWJj", parts[5]}, "$"),
		"short key":     strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "YWJj"}, "$"),
		"extra field":   good + "$x",
		"padded base64": strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4] + "==", parts[5]}, "$"),
		"negative":      strings.Replace(good, "m=64", "m=-64", 1),
		"too long":      good + strings.Repeat("A", 600),
	} {
		ok, _, err := VerifyPassword([]byte(h), "password123", cheapArgon)
		assert.ErrorIs(t, err, errBadHash, name)
		assert.False(t, ok, name)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add(string(HashPassword(cheapArgon, "password123")))
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseHash(s)
		if err != nil {
			return
		}
		// whatever parses is within limits and re-encodes to itself
		require.NoError(t, p.validate())
		require.Len(t, salt, int(p.SaltLen))
		require.Len(t, key, int(p.KeyLen))
		p2, salt2, key2, err := parseHash(s)
		require.NoError(t, err)
		require.Equal(t, p, p2)
		require.Equal(t, salt, salt2)
		require.Equal(t, key, key2)
	})
}

func BenchmarkHashPasswordDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		HashPassword(DefaultArgon2(), "correct horse battery staple")
	}
}

func BenchmarkVerifyPasswordDefault(b *testing.B) {
	h := HashPassword(DefaultArgon2(), "correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := VerifyPassword(h, "correct horse battery staple", DefaultArgon2()); !ok || err != nil {
			b.Fatal("no match")
		}
	}
}
