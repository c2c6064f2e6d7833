// Package frame is tickwire's wire format: every message is one msgpack
// array whose first element is the frame kind (a positive fixint), followed
// by the kind's fields in a fixed order. docs/PROTOCOL.md documents every
// kind; the layout of each is also written beside its type here.
//
// Decoding never trusts a length: every string, byte and array length is
// checked against a limit and against the bytes that remain before any
// allocation (msgpack v5 on its own would allocate whatever a bin32 or
// array32 header claims). Receivers ignore trailing fields they do not
// know, so new fields may be appended to a kind without breaking old peers.
//
// An Encoder and a Decoder are owned by one goroutine each; the frame
// types are plain values.
package frame
