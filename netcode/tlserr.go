package netcode

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSFailure is how a client reports a failed TLS handshake: when err
// says that the server's certificate did not verify (unknown authority,
// wrong host name, expired or otherwise invalid), it returns a
// *CodedError with CodeUntrustedCertificate wrapping err (errors.As still
// finds the crypto/x509 error); any other error is returned as it is.
// Every client dialer (TCP, WebSocket, long-poll, the HTTP API helpers)
// passes its dial error through it, so that one check,
// errors.Is(err, CodeUntrustedCertificate), covers them all.
func TLSFailure(err error) error {
	if err == nil {
		return nil
	}
	var (
		ve  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		why string
	)
	switch {
	case errors.As(err, &ua):
		why = "it is signed by an authority this client does not trust"
	case errors.As(err, &he):
		why = "it is not valid for " + he.Host
	case errors.As(err, &ci):
		why = ci.Error()
	case errors.As(err, &ve):
		why = "it did not verify"
	default:
		return err
	}
	return &CodedError{Code: CodeUntrustedCertificate,
		Msg: fmt.Sprintf("server certificate not trusted: %s (give the client its CA file; an insecure flag is for development only)", why),
		Err: err}
}
