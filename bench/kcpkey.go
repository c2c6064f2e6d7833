package bench

import (
	"context"
	"crypto/ecdh"
	"strings"

	"github.com/tickwire/tickwire/netcode/kcp"
)

// Encryption of a row's KCP datagrams (Result.Encryption): every tickwire
// KCP row says whether its sessions were sealed, so that a plaintext run
// (benchmarks only) is never mistaken for the default.
const (
	EncryptionSealed    = "aead"      // tickwire KCP, the default: every datagram sealed (AES-256-GCM)
	EncryptionPlaintext = "plaintext" // tickwire KCP with encryption off (Env.KCP.Plaintext)
	EncryptionNone      = "none"      // the kcp-bare baseline: kcp-go alone has none
)

// kcpEncryption is what this Env's tickwire KCP sessions use.
func (e *Env) kcpEncryption() string {
	if e.KCP.Plaintext {
		return EncryptionPlaintext
	}
	return EncryptionSealed
}

// markEncryption fills in Encryption on the report's KCP rows (a chat
// row is named transport/phase).
func (e *Env) markEncryption(rep *Report) {
	if rep == nil {
		return
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		base, _, _ := strings.Cut(r.Name, "/")
		switch base {
		case TransportKCP, TransportKCPUnreliable:
			r.Encryption = e.kcpEncryption()
		case TransportKCPBare:
			r.Encryption = EncryptionNone
		}
	}
}

// prepareKCP pins the server's KCP key before a run over KCP: unless the
// run is plaintext or the key was given (Env.KCP.ServerKey, tickbench
// -kcp-key), it is fetched from the server's HTTP API (GET /v1/kcp). A
// failed fetch leaves the key to the handshake (still sealed: the cost
// measured is the same) and says so in the report's notes.
func (e *Env) prepareKCP(ctx context.Context, rep *Report, transports []string) {
	uses := false
	for _, t := range transports {
		uses = uses || t == TransportKCP || t == TransportKCPUnreliable
	}
	if !uses || e.KCP.Plaintext || e.KCP.ServerKey != nil {
		return
	}
	if e.Target.HTTP == "" {
		rep.Notes = append(rep.Notes, "KCP server key not pinned (no HTTP address): taken from the handshake")
		return
	}
	info, err := kcp.FetchInfo(ctx, e.Target.http, e.Target.httpBase())
	if err == nil {
		var k *ecdh.PublicKey
		if k, err = kcp.ParsePublicKey(info.PublicKey); err == nil {
			e.KCP.ServerKey = k
			return
		}
	}
	rep.Notes = append(rep.Notes, "KCP server key not pinned ("+err.Error()+"): taken from the handshake")
}
