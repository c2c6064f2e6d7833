package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/tickwire/tickwire/netcode"
)

// ReadError reads an error answer (a status outside 2xx and its body) the
// way every client of this API does: the code and message of its
// ErrorResponse body; or, when the body is not one of ours (a proxy's or
// a load balancer's page), a code made from the status, with ours false.
func ReadError(status int, body []byte) (code netcode.Code, msg string, ours bool) {
	var e ErrorResponse
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return netcode.Code(e.Code), e.Message, true
	}
	return codeOfStatus(status), http.StatusText(status), false
}

// codeOfStatus is the code a status stands for when the body carries none.
func codeOfStatus(status int) netcode.Code {
	switch status {
	case http.StatusUnauthorized:
		return netcode.CodeBadToken
	case http.StatusForbidden:
		return netcode.CodeForbidden
	case http.StatusNotFound:
		return netcode.CodeNotFound
	case http.StatusBadRequest, http.StatusUpgradeRequired:
		return netcode.CodeBadRequest
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return netcode.CodeServerBusy
	}
	return netcode.CodeInternal
}
