package cabitest

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/token"
)

// pinHash returns the configuration form of pin's hash (token.HashPIN) and
// registers pin as a secret the module must never log.
func pinHash(t *testing.T, pin string) string {
	t.Helper()
	h, err := token.HashPIN(pin)
	require.NoError(t, err)
	t.Cleanup(func() { assertNotLogged(t, pin) })
	return h
}

// assertNotLogged checks that the module's log file does not contain secret
// (DESIGN.md: never log PINs, credentials, plaintext or key material).
func assertNotLogged(t *testing.T, secret string) {
	t.Helper()
	b, err := os.ReadFile(moduleLog)
	if os.IsNotExist(err) {
		return
	}
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret, "module log %s", moduleLog)
}
