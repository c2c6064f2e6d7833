package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tickwire/tickwire/netcode"
)

// DecodeJSON reads r's body, at most maxBytes long, as exactly one JSON
// value into v, strictly: unknown fields, trailing data after the value,
// wrong types and malformed or empty bodies are *netcode.CodedError with
// CodeBadRequest (or the code of a *netcode.CodedError that v's
// UnmarshalText returned); a body above maxBytes is CodeFrameTooLarge
// (413), and the server closes the connection after answering. The
// Content-Type is not checked: a body is read as JSON whatever its label
// (the API authenticates with a bearer header, which a cross-site form
// cannot send, so a label check would protect nothing). Answer a non-nil
// error with WriteError.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) error {
	return decode(w, r, v, maxBytes, bodyRequired)
}

// DecodeOptionalJSON is DecodeJSON for endpoints whose body is optional:
// an empty body (or one of white space only) leaves v untouched.
func DecodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) error {
	return decode(w, r, v, maxBytes, bodyOptional)
}

// bodyRule says whether a request body may be empty.
type bodyRule uint8

const (
	bodyRequired bodyRule = iota // an empty body is CodeBadRequest (DecodeJSON)
	bodyOptional                 // an empty body leaves v untouched (DecodeOptionalJSON)
)

func decode(w http.ResponseWriter, r *http.Request, v any, maxBytes int64, rule bodyRule) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if rule == bodyOptional && errors.Is(err, io.EOF) {
			return nil
		}
		return decodeError(err, maxBytes)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err, maxBytes)
		}
	}
	return netcode.Errorf(netcode.CodeBadRequest, "trailing data after the JSON value")
}

// decodeError turns a json.Decoder error into a coded error whose message
// names the field or offset, not the Go types behind it.
func decodeError(err error, maxBytes int64) error {
	var (
		tooBig *http.MaxBytesError
		coded  *netcode.CodedError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	msg := strings.TrimPrefix(err.Error(), "json: ")
	switch {
	case errors.As(err, &tooBig):
		return &netcode.CodedError{Code: netcode.CodeFrameTooLarge, Msg: fmt.Sprintf("body above %d bytes", maxBytes), Err: err}
	case errors.As(err, &coded):
		return coded
	case errors.Is(err, io.EOF):
		msg = "body is empty, want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "body ends inside the JSON value"
	case errors.As(err, &syntax):
		msg = fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			msg = fmt.Sprintf("field %q: want %s, not JSON %s", typ.Field, typ.Type.Kind(), typ.Value)
		} else {
			msg = fmt.Sprintf("want a JSON object, not JSON %s", typ.Value)
		}
	}
	return &netcode.CodedError{Code: netcode.CodeBadRequest, Msg: msg, Err: err}
}
