package aws

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSymmetricRoundTripAndOverhead encrypts with context and decrypts it
// back, and measures the dev KMS's blob overhead: it must stay within the
// documented bound the token announces (MaxCiphertextBlob-MaxEncryptPlaintext).
func TestSymmetricRoundTripAndOverhead(t *testing.T) {
	f := newFixture(t)
	k := arn(seedKeys[seedIndex(kmsbackend.SpecSymmetricDefault)].ID)
	ctxs := []map[string]string{nil, {"cartorio": "3-B", "folha": "112"}}
	for _, n := range []int{1, 100, kmsbackend.MaxEncryptPlaintext} {
		for _, ec := range ctxs {
			t.Run(fmt.Sprintf("%d-byte plaintext with %d context pairs decrypts to itself", n, len(ec)), func(t *testing.T) {
				pt := bytes.Repeat([]byte{byte(n)}, n)
				blob, err := f.b.Encrypt(context.Background(), k, pt, ec)
				require.NoError(t, err)
				over := len(blob) - n
				t.Logf("dev KMS blob overhead: %d bytes", over)
				assert.LessOrEqual(t, over, kmsbackend.MaxCiphertextBlob-kmsbackend.MaxEncryptPlaintext)
				assert.Positive(t, over)
				got, err := f.b.DecryptWithContext(context.Background(), k, blob, ec)
				require.NoError(t, err)
				assert.Equal(t, pt, got)
			})
		}
	}
}

func TestSymmetricRefusals(t *testing.T) {
	f := newFixture(t)
	k := arn(seedKeys[seedIndex(kmsbackend.SpecSymmetricDefault)].ID)
	ec := map[string]string{"a": "1"}
	blob, err := f.b.Encrypt(context.Background(), k, []byte("segredo"), ec)
	require.NoError(t, err)
	other, err := f.b.CreateKey(context.Background(), kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, "", "", nil)
	require.NoError(t, err)
	damaged := bytes.Clone(blob)
	damaged[len(damaged)-1] ^= 1
	decRows := []struct {
		name string
		key  string
		blob []byte
		ec   map[string]string
		kind kmsbackend.ErrorKind
	}{
		{"invalid ciphertext for another context value", k, blob, map[string]string{"a": "2"}, kmsbackend.KindInvalidCiphertext},
		{"invalid ciphertext without the context", k, blob, nil, kmsbackend.KindInvalidCiphertext},
		{"invalid ciphertext for an extra context pair", k, blob, map[string]string{"a": "1", "b": "2"}, kmsbackend.KindInvalidCiphertext},
		{"invalid ciphertext for a damaged blob", k, damaged, ec, kmsbackend.KindInvalidCiphertext},
		{"invalid ciphertext for another key", other.ARN, blob, ec, kmsbackend.KindInvalidCiphertext},
		{"invalid request, no call, for an empty blob", k, []byte{}, ec, kmsbackend.KindInvalidRequest},
		{"invalid request, no call, for a 6145-byte blob", k, make([]byte, 6145), ec, kmsbackend.KindInvalidRequest},
	}
	for _, r := range decRows {
		t.Run(r.name, func(t *testing.T) {
			pt, err := f.b.DecryptWithContext(context.Background(), r.key, r.blob, r.ec)
			assert.Nil(t, pt)
			assert.Equal(t, r.kind, kmsbackend.KindOf(err), "%v", err)
		})
	}
	encRows := []struct {
		name string
		pt   []byte
	}{
		{"invalid request, no call, for an empty plaintext", []byte{}},
		{"invalid request, no call, for a 4097-byte plaintext", make([]byte, 4097)},
	}
	for _, r := range encRows {
		t.Run(r.name, func(t *testing.T) {
			blob, err := f.b.Encrypt(context.Background(), k, r.pt, nil)
			assert.Nil(t, blob)
			assert.Equal(t, kmsbackend.KindInvalidRequest, kmsbackend.KindOf(err), "%v", err)
		})
	}
}
