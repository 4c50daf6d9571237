package token

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPINHash(t *testing.T) {
	h, err := hashPINWith("correct horse", 1000)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "pbkdf2-sha256$1000$"))
	assert.NotContains(t, h, "correct horse")
	p, err := parsePINHash(h)
	require.NoError(t, err)
	tests := []struct {
		name string
		pin  string
		want bool
	}{
		{"accepted same PIN", "correct horse", true},
		{"refused other PIN", "correct horsE", false},
		{"refused empty PIN", "", false},
		{"refused prefix", "correct", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, p.check([]byte(tt.pin))) })
	}
	h2, err := hashPINWith("correct horse", 1000)
	require.NoError(t, err)
	assert.NotEqual(t, h, h2, "each hash has its own salt")
}

func TestParsePINHashRejects(t *testing.T) {
	for _, s := range []string{"", "1234", "pbkdf2-sha256$1000$c2FsdHNhbHQ", "sha1$1000$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"pbkdf2-sha256$10$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "pbkdf2-sha256$1000$!!$" + strings.Repeat("A", 43),
		"pbkdf2-sha256$1000$c2FsdHNhbHQ$AAAA"} {
		_, err := parsePINHash(s)
		assert.Error(t, err, "%q", s)
	}
}

func TestHashPINRejectsLongPIN(t *testing.T) {
	_, err := HashPIN(strings.Repeat("x", maxPINLen+1))
	assert.Error(t, err)
}
