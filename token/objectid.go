package token

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/p11kms/p11kms/kmsbackend"
)

// keyIDLen is the length of every CKA_ID the token makes: short enough for
// libp11 and for pkcs11-tool --id, and the same on a key's private and public
// objects so that crypto11 and SunPKCS11 can pair them (DESIGN.md, Objects).
const keyIDLen = 16

// keyObjectID returns the CKA_ID (PKCS#11 2.40 §4.7) shared by the objects of
// one KMS key: the 16 raw bytes of the key id when it is a UUID (so
// `pkcs11-tool --id` takes the key id without dashes), otherwise — a
// multi-region "mrk-..." id or another backend's naming — the first 16 bytes
// of SHA-256 of the key ARN. The result is never empty and depends only on
// the key's id and ARN, so it is stable across restarts.
func keyObjectID(k *kmsbackend.KeyInfo) []byte {
	if id, ok := parseUUID(k.ID); ok {
		return id
	}
	sum := sha256.Sum256([]byte(k.ARN))
	return sum[:keyIDLen]
}

// parseUUID returns the 16 bytes of a UUID in its canonical 8-4-4-4-12
// hexadecimal form (RFC 9562 §4), as AWS KMS spells key ids, and false for
// anything else.
func parseUUID(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	b, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if err != nil {
		return nil, false
	}
	return b, true
}

// keyObjectLabel returns the CKA_LABEL (PKCS#11 2.40 §4.4) of a KMS key's
// objects: its first alias in sorted order without the "alias/" prefix, or
// the key id when the key has no alias. k.Aliases is not modified.
func keyObjectLabel(k *kmsbackend.KeyInfo) string {
	if len(k.Aliases) == 0 {
		return k.ID
	}
	return strings.TrimPrefix(slices.Min(k.Aliases), "alias/")
}
