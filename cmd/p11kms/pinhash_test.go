package main

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/token"
)

func TestPINHash(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"hashed PIN from a line", "1234\n", nil, 0, ""},
		{"hashed PIN without newline", "1234", nil, 0, ""},
		{"refused empty input", "", nil, 1, "no PIN"},
		{"refused arguments", "1234\n", []string{"1234"}, 2, "usage"},
		{"refused PIN longer than 255", strings.Repeat("x", 256) + "\n", nil, 1, "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := stdin
			stdin = bufio.NewReader(strings.NewReader(tt.input))
			t.Cleanup(func() { stdin = old })
			code, out, errOut := capture(t, func() int { return runPINHash(tt.args) })
			assert.Equal(t, tt.wantCode, code)
			if tt.wantErr != "" {
				assert.Contains(t, errOut, tt.wantErr)
				assert.Empty(t, out)
				return
			}
			assert.NotContains(t, out, "1234", "the PIN itself is never printed")
			hash := strings.TrimSpace(out)
			cfg := "tokens: [{label: a, pin: \"" + hash + "\"}]"
			_, err := token.ParseConfig([]byte(cfg))
			require.NoError(t, err, "the printed hash is a valid `pin:` value")
		})
	}
}
