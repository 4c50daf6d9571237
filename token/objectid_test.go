package token

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/kmsbackend"
)

func TestObjectID(t *testing.T) {
	const arn = "arn:aws:kms:eu-west-1:111122223333:key/"
	hashed := func(s string) []byte { sum := sha256.Sum256([]byte(s)); return sum[:16] }
	for _, tc := range []struct {
		name string
		id   string
		arn  string
		want []byte
	}{
		{"UUID key id gives its 16 raw bytes", objTestKeyID, arn + objTestKeyID, objTestKeyIDBytes},
		{"upper-case UUID gives the same 16 bytes", "1234ABCD-12AB-34CD-56EF-1234567890AB", arn + "x", objTestKeyIDBytes},
		{"multi-region mrk id gives SHA-256 of the ARN", "mrk-1234abcd12ab34cd56ef1234567890ab",
			arn + "mrk-1234abcd12ab34cd56ef1234567890ab", hashed(arn + "mrk-1234abcd12ab34cd56ef1234567890ab")},
		{"UUID with misplaced dashes gives SHA-256 of the ARN", "1234abcd1-2ab-34cd-56ef-1234567890ab", arn + "a", hashed(arn + "a")},
		{"UUID with a non-hex digit gives SHA-256 of the ARN", "1234abcg-12ab-34cd-56ef-1234567890ab", arn + "b", hashed(arn + "b")},
		{"32 hex digits without dashes give SHA-256 of the ARN", "1234abcd12ab34cd56ef1234567890ab", arn + "c", hashed(arn + "c")},
		{"empty key id gives SHA-256 of the ARN", "", arn + "d", hashed(arn + "d")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kmsbackend.KeyInfo{ID: tc.id, ARN: tc.arn}
			got := keyObjectID(k)
			assert.Equal(t, tc.want, got)
			assert.Len(t, got, 16)
			assert.Equal(t, got, keyObjectID(k), "stable across calls")
		})
	}
}

func TestObjectLabel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		aliases []string
		want    string
	}{
		{"no alias gives the key id", nil, objTestKeyID},
		{"one alias gives it without the prefix", []string{"alias/ca-root"}, "ca-root"},
		{"several aliases give the first in sorted order", []string{"alias/zeta", "alias/Beta", "alias/alpha"}, "Beta"},
		{"nested alias keeps its slashes", []string{"alias/team/signing"}, "team/signing"},
		{"name without the prefix is kept whole", []string{"odd"}, "odd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]string(nil), tc.aliases...)
			k := &kmsbackend.KeyInfo{ID: objTestKeyID, Aliases: tc.aliases}
			assert.Equal(t, tc.want, keyObjectLabel(k))
			assert.Equal(t, before, k.Aliases, "aliases are not reordered")
		})
	}
}
