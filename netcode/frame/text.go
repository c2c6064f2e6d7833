package frame

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/tickwire/tickwire/netcode"
)

// TextField names one kind of user-visible text and its limits. Every
// such text a user can set (display names, guest names, group names,
// status texts, room labels) passes CleanText with its field, on the
// server and, to fail early, in the SDKs.
type TextField struct {
	Name     string       // as it appears in errors ("display_name")
	MaxBytes int          // after normalization
	Empty    bool         // whether the empty string is acceptable
	Code     netcode.Code // the code a refusal carries
}

// The user-visible text fields.
var (
	TextDisplayName = TextField{Name: "display_name", MaxBytes: MaxNameLen, Empty: true, Code: netcode.CodeBadText}
	TextGroupName   = TextField{Name: "group_name", MaxBytes: MaxGroupName, Code: netcode.CodeBadGroupName}
	TextStatus      = TextField{Name: "status_text", MaxBytes: MaxStatusText, Empty: true, Code: netcode.CodeBadText}
	TextRoomLabel   = TextField{Name: "label", MaxBytes: MaxNameLen, Empty: true, Code: netcode.CodeBadText}
)

// CleanText is the one rule for user-visible text: s is trimmed of
// surrounding white space and put in Unicode normalization form C; the
// result must be valid UTF-8 of at most f.MaxBytes bytes (and not empty
// unless f.Empty) without control characters, U+FFFD, bidirectional
// controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) or invisible
// zero-width characters (U+200B, U+2060–U+2064, U+FEFF, U+180E, U+00AD).
// The zero-width joiner and non-joiner (U+200C, U+200D) are allowed:
// emoji sequences and several scripts need them. A refusal is a
// *netcode.CodedError with f.Code.
func CleanText(f TextField, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", textErr(f, "is not valid UTF-8")
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	switch {
	case s == "" && !f.Empty:
		return "", textErr(f, "is empty")
	case len(s) > f.MaxBytes:
		return "", textErr(f, fmt.Sprintf("has %d bytes, limit %d", len(s), f.MaxBytes))
	}
	for _, r := range s {
		if forbiddenRune(r) {
			return "", textErr(f, fmt.Sprintf("contains the forbidden character U+%04X", r))
		}
	}
	return s, nil
}

func textErr(f TextField, what string) error {
	return &netcode.CodedError{Code: f.Code, Msg: f.Name + " " + what}
}

// forbiddenRune reports whether r may not appear in user-visible text.
func forbiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r), r == utf8.RuneError:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true // bidirectional controls
	case r == 0x200B, r >= 0x2060 && r <= 0x2064, r == 0xFEFF, r == 0x180E, r == 0x00AD:
		return true // invisible zero-width characters
	}
	return false
}
