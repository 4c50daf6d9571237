package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capture runs fn with stdout and stderr redirected to buffers.
func capture(t *testing.T, fn func() int) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	setOutput(t, &o, &e)
	code = fn()
	return code, o.String(), e.String()
}

// setOutput replaces the package's output streams until the test ends.
func setOutput(t *testing.T, o, e io.Writer) {
	t.Helper()
	oldOut, oldErr := stdout, stderr
	stdout, stderr = o, e
	t.Cleanup(func() { stdout, stderr = oldOut, oldErr })
}

func TestHelpListsEverySubcommand(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		t.Run("exit 0 and the list on stdout for "+arg, func(t *testing.T) {
			code, out, errOut := capture(t, func() int { return runMain([]string{arg}) })
			assert.Equal(t, 0, code)
			assert.Empty(t, errOut)
			require.NotEmpty(t, commands)
			for name, c := range commands {
				assert.Regexp(t, `(?m)^  `+name+` +`+regexpQuote(c.summary)+`$`, out)
			}
			for _, want := range []string{"devkms", "create-key", "version"} {
				assert.Contains(t, out, "  "+want+" ")
			}
		})
	}
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(`(`, `\(`, `)`, `\)`, `.`, `\.`, `"`, `"`)
	return r.Replace(s)
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"exit 2 without a command", nil, "Usage: p11kms COMMAND"},
		{"exit 2 for an unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"exit 2 for version with arguments", []string{"version", "x"}, "usage: p11kms version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := capture(t, func() int { return runMain(tt.args) })
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := capture(t, func() int { return runMain([]string{"version"}) })
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^p11kms \S+ \(go1\.\d+`, out)

	old := version
	version = "v9.8.7"
	defer func() { version = old }()
	_, out, _ = capture(t, func() int { return runMain([]string{"version"}) })
	assert.True(t, strings.HasPrefix(out, "p11kms v9.8.7 ("), out)
}
