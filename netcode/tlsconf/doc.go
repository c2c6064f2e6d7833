// Package tlsconf builds the TLS configurations of tickwire: the server's
// (a certificate and key from files, reloadable; a self-signed development
// certificate kept in the data directory; or ACME through
// golang.org/x/crypto/acme/autocert) and the clients' (the system roots,
// a CA file to trust instead, or an explicit insecure mode for
// development). docs/TLS.md says which to run where.
//
// One *tls.Config serves the HTTP API (HTTPS, so WebSocket becomes WSS
// and long-polling and WebRTC signaling go over HTTPS) and the framed TCP
// fallback; both take TLS 1.3 at least.
//
// Concurrency contract: a *Server is safe for concurrent use. Its
// certificate is read through an atomic pointer by every handshake;
// Reload swaps it (ModeFiles) and is the only writer. New and Client do
// no I/O beyond reading (and, for ModeSelfSigned, writing) the files
// named in their configuration; ModeACME contacts the CA only from a
// handshake that asks for a certificate autocert does not hold yet.
package tlsconf
