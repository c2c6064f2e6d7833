package auth

import (
	"testing"
	"time"
)

// BenchmarkVerify is what every realtime Hello pays to check its token.
func BenchmarkVerify(b *testing.B) {
	s := signer(b, testKey)
	tok, _, err := s.Issue(Claims{UserID: "g_0123456789abcdef", Name: "storm123", Guest: true}, epoch, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, epoch); err != nil {
			b.Fatal(err)
		}
	}
}
