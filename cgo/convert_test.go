package main

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestPadded(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"blank-padded when shorter", "p11kms", 10, "p11kms    "},
		{"all blanks when empty", "", 4, "    "},
		{"unchanged when exactly the width", "abcd", 4, "abcd"},
		{"cut when longer", "abcdef", 4, "abcd"},
		{"cut before a 2-byte character that would not fit", "abcé", 4, "abc "},
		{"kept when a 2-byte character fits exactly", "abé", 4, "abé"},
		{"cut before a 3-byte character that would not fit", "a€", 3, "a  "},
		{"invalid UTF-8 replaced by U+FFFD", "a\xffb", 6, "a\uFFFDb "},
		{"Cartório label kept whole", "Cartório", 32, "Cartório" + "                       "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := padded(tt.s, tt.n)
			assert.Equal(t, tt.want, string(got))
			assert.Len(t, got, tt.n)
			assert.True(t, utf8.Valid(got), "valid UTF-8")
		})
	}
}
