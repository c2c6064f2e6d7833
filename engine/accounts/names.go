package accounts

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/netcode/frame"
)

// Username, display name and password rules. docs/ACCOUNTS.md explains them.
const (
	MinUsernameRunes = 3
	MaxUsernameRunes = 32
	// maxUsernameInputBytes bounds the raw input before any Unicode work,
	// so a 10 KB name costs nothing to refuse.
	maxUsernameInputBytes = 4 * MaxUsernameRunes * 2

	// MaxNameBytes bounds usernames and display names after NFKC: they
	// travel in frames whose name fields hold at most frame.MaxNameLen
	// bytes.
	MaxNameBytes             = frame.MaxNameLen
	maxDisplayNameInputBytes = 4 * MaxNameBytes
	MinPasswordRunes         = 8
	MaxPasswordRunes         = 128
	maxPasswordInputBytes    = 4 * MaxPasswordRunes
)

// NormalizeUsername checks raw against the username rules and returns the
// name as stored (NFKC, case kept) and its key (NFKC of the case fold of the
// NFKC form), which is what uniqueness and lookups use: "Alice", "ALICE"
// and "ａｌｉｃｅ" (fullwidth) share the key "alice".
//
// Rules: valid UTF-8 of at most 256 bytes; after NFKC 3 to 32 characters
// and at most 64 bytes,
// each a Unicode letter, a combining mark following a letter or mark, a
// decimal digit, '_', '.' or '-'; the first character a letter or digit. No
// spaces, control, format (zero-width, bidi) or symbol (emoji) characters.
// Errors are *netcode.CodedError with CodeBadUsername.
func NormalizeUsername(raw string) (name, key string, err error) {
	if raw == "" {
		return "", "", badUsername("username is empty")
	}
	if len(raw) > maxUsernameInputBytes {
		return "", "", badUsername("username is longer than %d characters", MaxUsernameRunes)
	}
	if !utf8.ValidString(raw) {
		return "", "", badUsername("username is not valid UTF-8")
	}
	name = norm.NFKC.String(raw)
	n := utf8.RuneCountInString(name)
	if n < MinUsernameRunes {
		return "", "", badUsername("username is shorter than %d characters", MinUsernameRunes)
	}
	if n > MaxUsernameRunes {
		return "", "", badUsername("username is longer than %d characters", MaxUsernameRunes)
	}
	if len(name) > MaxNameBytes {
		return "", "", badUsername("username is longer than %d bytes of UTF-8", MaxNameBytes)
	}
	prevLetter := false
	for i, r := range name {
		switch {
		case unicode.IsLetter(r):
			prevLetter = true
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			if !prevLetter {
				return "", "", badUsername("username has a combining mark that follows no letter")
			}
		case unicode.Is(unicode.Nd, r):
			prevLetter = false
		case r == '_' || r == '.' || r == '-':
			if i == 0 {
				return "", "", badUsername("username must start with a letter or a digit")
			}
			prevLetter = false
		default:
			return "", "", badUsername("username may hold only letters, digits, '_', '.' and '-' (found %U)", r)
		}
	}
	key = norm.NFKC.String(cases.Fold().String(name))
	return name, key, nil
}

// UsernameKey returns the lookup key of a username, or "" if raw breaks the
// rules (no user can have that name).
func UsernameKey(raw string) string {
	_, key, err := NormalizeUsername(raw)
	if err != nil {
		return ""
	}
	return key
}

// NormalizeDisplayName checks a display name with the one rule for
// user-visible text, frame.CleanText(frame.TextDisplayName, raw): trimmed,
// NFC, at most 64 bytes of UTF-8, no control, bidi-control or invisible
// zero-width characters (the zero-width joiner, which emoji sequences
// need, is allowed). An empty (or all-space) raw yields fallback. Errors
// carry CodeBadText.
func NormalizeDisplayName(raw, fallback string) (string, error) {
	if len(raw) > maxDisplayNameInputBytes {
		return "", netcode.Errorf(frame.TextDisplayName.Code, "%s is longer than %d bytes", frame.TextDisplayName.Name, MaxNameBytes)
	}
	s, err := frame.CleanText(frame.TextDisplayName, raw)
	if err != nil {
		return "", err
	}
	if s == "" {
		return fallback, nil
	}
	return s, nil
}

// NormalizePassword checks a password against the length rules and returns
// its NFKC form, which is what gets hashed (so the same password typed on
// two keyboards that compose differently still matches). Length is counted
// in characters after NFKC: 8 to 128. Errors carry CodeBadPassword.
func NormalizePassword(raw string) (string, error) {
	if len(raw) > maxPasswordInputBytes {
		return "", netcode.Errorf(netcode.CodeBadPassword, "password is longer than %d characters", MaxPasswordRunes)
	}
	if !utf8.ValidString(raw) {
		return "", netcode.Errorf(netcode.CodeBadPassword, "password is not valid UTF-8")
	}
	p := norm.NFKC.String(raw)
	n := utf8.RuneCountInString(p)
	if n < MinPasswordRunes {
		return "", netcode.Errorf(netcode.CodeBadPassword, "password is shorter than %d characters", MinPasswordRunes)
	}
	if n > MaxPasswordRunes {
		return "", netcode.Errorf(netcode.CodeBadPassword, "password is longer than %d characters", MaxPasswordRunes)
	}
	return p, nil
}

func badUsername(format string, args ...any) error {
	return netcode.Errorf(netcode.CodeBadUsername, format, args...)
}
