package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplice(t *testing.T) {
	tests := []struct {
		name, doc, want string
		wantErr         bool
	}{
		{"appends markers when absent", "# R\n\ntext\n", "# R\n\ntext\n\n" + begin + "\n| t |\n" + end + "\n", false},
		{"replaces only between markers", "a\n" + begin + "\nold\n" + end + "\nb\n", "a\n" + begin + "\n| t |\n" + end + "\nb\n", false},
		{"refuses an end marker before the begin marker", end + "\n" + begin + "\n", "", true},
		{"refuses a lone begin marker", "x\n" + begin + "\n", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splice([]byte(tc.doc), []byte("| t |"))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestBetween(t *testing.T) {
	got, err := between([]byte("head\n" + begin + "\n| a |\n| b |\n" + end + "\ntail"))
	require.NoError(t, err)
	require.Equal(t, "| a |\n| b |", string(got))
	_, err = between([]byte("no markers"))
	require.EqualError(t, err, "no "+begin+" ... "+end+" section")
}
