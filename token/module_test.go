package token

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

func TestCheckInitArgs(t *testing.T) {
	tests := []struct {
		name string
		args InitArgs
		want uint
	}{
		{"accepted NULL args", InitArgs{}, ck.CKR_OK},
		{"accepted no callbacks no flags", InitArgs{Present: true}, ck.CKR_OK},
		{"accepted OS locking flag only", InitArgs{Present: true, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"accepted all callbacks with OS locking", InitArgs{Present: true, MutexFuncs: 4, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"accepted NSS's cannot-create-threads flag", InitArgs{Present: true, Flags: ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS | ck.CKF_OS_LOCKING_OK}, ck.CKR_OK},
		{"accepted non-NULL pReserved string", InitArgs{Present: true, Reserved: "configdir='x'"}, ck.CKR_OK},
		{"refused callbacks without OS locking", InitArgs{Present: true, MutexFuncs: 4}, ck.CKR_CANT_LOCK},
		{"refused one callback", InitArgs{Present: true, MutexFuncs: 1, Flags: ck.CKF_OS_LOCKING_OK}, ck.CKR_ARGUMENTS_BAD},
		{"refused three callbacks", InitArgs{Present: true, MutexFuncs: 3}, ck.CKR_ARGUMENTS_BAD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, ck.RVName(tt.want), ck.RVName(ck.RV(checkInitArgs(tt.args))))
		})
	}
}

// TestInitializeFailureReachesTheLogFile: a token that cannot be set up
// fails C_Initialize with CKR_FUNCTION_FAILED, and the configured log file
// (already opened) says why before it is closed.
func TestInitializeFailureReachesTheLogFile(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "p11kms.log")
	cfg := fmt.Sprintf("log: {level: warn, file: %s}\ntokens:\n  - label: remote\n    region: us-east-1\n    endpoint: https://kms.example.invalid\n    anonymous: true\n", logPath)
	m := New()
	err := m.Initialize(InitArgs{Present: true, Reserved: cfg})
	require.Equal(t, ck.RVName(ck.CKR_FUNCTION_FAILED), ck.RVName(ck.RV(err)))
	b, rerr := os.ReadFile(logPath)
	require.NoError(t, rerr)
	assert.Contains(t, string(b), "C_Initialize failed")
	assert.Contains(t, string(b), "anonymous access refused")
	assert.Contains(t, string(b), "token=remote")
}
