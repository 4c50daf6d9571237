package mechanisms

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// requireRV asserts err carries exactly the CK_RV want (CKR_OK for nil), by name.
func requireRV(t testing.TB, want uint, err error) {
	t.Helper()
	require.Equal(t, ck.RVName(want), ck.RVName(ck.RV(err)), "error: %v", err)
}

// ckMsg returns the Msg of the *ck.Error in err's chain ("" if none).
func ckMsg(err error) string {
	var e *ck.Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}
