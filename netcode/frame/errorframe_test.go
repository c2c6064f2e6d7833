package frame

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tickwire/tickwire/netcode"
)

func TestErrorOf(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want Error
	}{
		"coded": {netcode.Errorf(netcode.CodeSocialLimit, "too many"), Error{Code: netcode.CodeSocialLimit, Message: "too many", Ref: 7}},
		"wrapped": {fmt.Errorf("op: %w", netcode.Errorf(netcode.CodeBadText, "bad")),
			Error{Code: netcode.CodeBadText, Message: "bad", Ref: 7}},
		"bare code": {netcode.CodeServerBusy, Error{Code: netcode.CodeServerBusy, Message: netcode.CodeServerBusy.String(), Ref: 7}},
		"internal":  {errors.New("disk on fire at /var/x"), Error{Code: netcode.CodeInternal, Message: "internal error", Ref: 7}},
		"long": {netcode.Errorf(netcode.CodeBadRequest, "%s", strings.Repeat("é", MaxMessageLen)),
			Error{Code: netcode.CodeBadRequest, Message: netcode.TruncateUTF8(strings.Repeat("é", MaxMessageLen), MaxMessageLen), Ref: 7}},
	} {
		t.Run(name, func(t *testing.T) {
			got := ErrorOf(tc.err, 7)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, len(got.Message), MaxMessageLen)
		})
	}
}
