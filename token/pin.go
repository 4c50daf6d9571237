package token

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pinHashPrefix names the only PIN hash scheme: PBKDF2 with HMAC-SHA-256.
const pinHashPrefix = "pbkdf2-sha256"

// DefaultPINIterations is the PBKDF2 iteration count HashPIN uses.
const DefaultPINIterations = 200_000

// maxPINLen is CK_TOKEN_INFO.ulMaxPinLen.
const maxPINLen = 255

// pinHash is a parsed "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
type pinHash struct {
	iter int
	salt []byte
	sum  []byte
}

// HashPIN returns the configuration form of a PIN's salted hash, with a fresh
// random salt: "pbkdf2-sha256$<iterations>$<salt>$<hash>" (raw standard base64).
func HashPIN(pin string) (string, error) {
	return hashPINWith(pin, DefaultPINIterations)
}

func hashPINWith(pin string, iter int) (string, error) {
	if len(pin) > maxPINLen {
		return "", fmt.Errorf("PIN longer than %d bytes", maxPINLen)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	sum, err := pbkdf2.Key(sha256.New, pin, salt, iter, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("pbkdf2: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%s$%d$%s$%s", pinHashPrefix, iter, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// parsePINHash parses the configuration form; it never echoes the value in errors.
func parsePINHash(s string) (*pinHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != pinHashPrefix {
		return nil, errors.New("not of the form pbkdf2-sha256$<iterations>$<salt>$<hash>")
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1000 || iter > 10_000_000 {
		return nil, errors.New("iterations must be a number from 1000 to 10000000")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	sum, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(sum) != sha256.Size {
		return nil, errors.New("salt or hash is not valid base64 of the right length")
	}
	return &pinHash{iter: iter, salt: salt, sum: sum}, nil
}

// check reports whether pin matches, comparing in constant time.
func (h *pinHash) check(pin []byte) bool {
	sum, err := pbkdf2.Key(sha256.New, string(pin), h.salt, h.iter, sha256.Size)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(sum, h.sum) == 1
}
