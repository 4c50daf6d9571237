package mechanisms

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// edKey returns a fresh Ed25519 private key and the plan Key of its public half.
func edKey(t *testing.T, algs ...kmsbackend.SigningAlgorithm) (ed25519.PrivateKey, Key) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	spki, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pk, err := ParsePublicKey(spki)
	require.NoError(t, err)
	return priv, Key{Spec: kmsbackend.SpecECCNISTEdwards25519, Pub: pk, Algorithms: algs}
}

func TestParsePublicKeyEd25519(t *testing.T) {
	der, err := os.ReadFile("testdata/ed25519_pub.der")
	require.NoError(t, err)
	pk, err := ParsePublicKey(der)
	require.NoError(t, err)
	assert.Equal(t, KindEdwards, pk.Kind)
	assert.Equal(t, "EdDSA", pk.Kind.String())
	require.Len(t, pk.Ed25519, 32)
	assert.Equal(t, der, pk.SPKI)
	assert.Equal(t, der[len(der)-32:], []byte(pk.Ed25519), "the key is the SPKI's last 32 bytes (RFC 8410 §4)")
	assert.Equal(t, append([]byte{0x04, 0x20}, pk.Ed25519...), pk.EdPoint())
	assert.Nil(t, pk.ECPoint(), "no EC point for an Edwards key")
	assert.Nil(t, (&PublicKey{Kind: KindEC}).EdPoint(), "no Edwards point for an EC key")
}

func TestEdDSAParams(t *testing.T) {
	rows := []struct {
		name string
		in   []byte
		want EdDSAParams
		rv   uint
	}{
		{"pure without a parameter", nil, EdDSAParams{}, ck.CKR_OK},
		{"pure with phFlag false", []byte{0}, EdDSAParams{Context: []byte{}}, ck.CKR_OK},
		{"prehash with phFlag true", []byte{1}, EdDSAParams{PH: true, Context: []byte{}}, ck.CKR_OK},
		{"context kept", []byte{0, 'c', 't', 'x'}, EdDSAParams{Context: []byte("ctx")}, ck.CKR_OK},
		{"CKR_MECHANISM_PARAM_INVALID for phFlag 2", []byte{2}, EdDSAParams{}, ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := ParseEdDSAParams(r.in)
			requireRV(t, r.rv, err)
			assert.Equal(t, r.want, got)
			if r.rv == ck.CKR_OK && r.in != nil {
				assert.Equal(t, r.in, EncodeEdDSAParams(got), "round trip")
			}
		})
	}
}

func TestNewEdDSAPlan(t *testing.T) {
	_, ed := edKey(t)
	_, pureOnly := edKey(t, kmsbackend.ED25519_SHA_512)
	p256Pub, err := ParsePublicKey(keyFor(t, kmsbackend.SpecECCNISTP256).spki)
	require.NoError(t, err)
	p256Key := Key{Spec: kmsbackend.SpecECCNISTP256, Pub: p256Pub}
	rows := []struct {
		name  string
		mech  uint
		param []byte
		key   Key
		rv    uint
		alg   kmsbackend.SigningAlgorithm
		mt    kmsbackend.MessageType
		hash  crypto.Hash
	}{
		{"pure Ed25519 is ED25519_SHA_512 RAW", ck.CKM_EDDSA, nil, ed, ck.CKR_OK, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, 0},
		{"phFlag false is ED25519_SHA_512 RAW", ck.CKM_EDDSA, []byte{0}, ed, ck.CKR_OK, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, 0},
		{"phFlag true is ED25519_PH_SHA_512 DIGEST hashed locally", ck.CKM_EDDSA, []byte{1}, ed, ck.CKR_OK, kmsbackend.ED25519_PH_SHA_512, kmsbackend.MessageDigest, crypto.SHA512},
		{"CKR_MECHANISM_PARAM_INVALID for a context", ck.CKM_EDDSA, []byte{0, 'x'}, ed, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"CKR_MECHANISM_PARAM_INVALID for phFlag 7", ck.CKM_EDDSA, []byte{7}, ed, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"CKR_MECHANISM_INVALID for Ed25519ph on a key allowing pure only", ck.CKM_EDDSA, []byte{1}, pureOnly, ck.CKR_MECHANISM_INVALID, 0, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for ECDSA on an Ed25519 key", ck.CKM_ECDSA, nil, ed, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for EdDSA on a P-256 key", ck.CKM_EDDSA, nil, p256Key, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0, 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := NewSignPlan(r.mech, r.param, r.key)
			requireRV(t, r.rv, err)
			if r.rv != ck.CKR_OK {
				return
			}
			assert.Equal(t, r.alg, p.Algorithm)
			assert.Equal(t, r.mt, p.MessageType)
			assert.Equal(t, r.hash, p.Hash)
			assert.Equal(t, 64, p.SigLen)
			assert.True(t, p.MultiPart())
		})
	}
}

func TestEdDSARequest(t *testing.T) {
	_, ed := edKey(t)
	pure, err := NewSignPlan(ck.CKM_EDDSA, nil, ed)
	require.NoError(t, err)
	ph, err := NewSignPlan(ck.CKM_EDDSA, []byte{1}, ed)
	require.NoError(t, err)
	msg := []byte("mensagem")
	digest := sha512.Sum512(msg)
	max := bytes.Repeat([]byte{'a'}, MaxEdDSAMessage)
	rows := []struct {
		name  string
		plan  *Plan
		parts [][]byte
		want  []byte
		rv    uint
	}{
		{"pure sends the message", pure, [][]byte{msg}, msg, ck.CKR_OK},
		{"pure sends 4096 bytes", pure, [][]byte{max}, max, ck.CKR_OK},
		{"pure multi-part sends the joined message", pure, [][]byte{msg[:3], msg[3:]}, msg, ck.CKR_OK},
		{"CKR_DATA_LEN_RANGE for 4097 bytes", pure, [][]byte{append(max, 'b')}, nil, ck.CKR_DATA_LEN_RANGE},
		{"CKR_DATA_LEN_RANGE for 4097 bytes in parts", pure, [][]byte{max, {'b'}}, nil, ck.CKR_DATA_LEN_RANGE},
		{"CKR_DATA_LEN_RANGE for an empty message", pure, [][]byte{{}}, nil, ck.CKR_DATA_LEN_RANGE},
		{"prehash sends the SHA-512 digest", ph, [][]byte{msg}, digest[:], ck.CKR_OK},
		{"prehash multi-part sends the SHA-512 digest", ph, [][]byte{msg[:1], msg[1:]}, digest[:], ck.CKR_OK},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var req SignRequest
			var err error
			if len(r.parts) == 1 {
				req, err = r.plan.Request(r.parts[0])
			} else {
				h := r.plan.NewHash()
				for _, part := range r.parts {
					h.Write(part)
				}
				req, err = r.plan.RequestFromHash(h.Sum(nil))
			}
			requireRV(t, r.rv, err)
			if r.rv == ck.CKR_OK {
				assert.Equal(t, r.want, req.Message)
				assert.Equal(t, r.plan.Algorithm, req.Algorithm)
				assert.Equal(t, r.plan.MessageType, req.MessageType)
			}
		})
	}
}

// TestEdDSASignatures has crypto/ed25519 stand in for KMS, checks the plan's
// local verification accepts the signatures and refuses tampered ones, and
// has openssl (an independent implementation) verify a pure signature.
func TestEdDSASignatures(t *testing.T) {
	priv, ed := edKey(t)
	msg := []byte("contrato de compra e venda")
	for _, ph := range []bool{false, true} {
		name := map[bool]string{false: "pure", true: "prehash"}[ph]
		plan, err := NewSignPlan(ck.CKM_EDDSA, EncodeEdDSAParams(EdDSAParams{PH: ph}), ed)
		require.NoError(t, err)
		req, err := plan.Request(msg)
		require.NoError(t, err)
		opts := &ed25519.Options{}
		if ph {
			opts.Hash = crypto.SHA512
		}
		kmsSig, err := priv.Sign(nil, req.Message, opts)
		require.NoError(t, err)
		t.Run(name+" KMS signature is returned as is", func(t *testing.T) {
			sig, err := plan.OutputVerified(req, kmsSig)
			require.NoError(t, err)
			assert.Equal(t, kmsSig, sig)
		})
		t.Run(name+" CKR_FUNCTION_FAILED for a KMS signature that does not verify", func(t *testing.T) {
			bad := bytes.Clone(kmsSig)
			bad[5] ^= 1
			_, err := plan.OutputVerified(req, bad)
			requireRV(t, ck.CKR_FUNCTION_FAILED, err)
		})
		t.Run(name+" verifies single-part", func(t *testing.T) { requireRV(t, ck.CKR_OK, plan.Verify(msg, kmsSig)) })
		t.Run(name+" verifies multi-part", func(t *testing.T) {
			h := plan.NewHash()
			h.Write(msg[:4])
			h.Write(msg[4:])
			requireRV(t, ck.CKR_OK, plan.VerifyDigest(h.Sum(nil), kmsSig))
		})
		t.Run(name+" CKR_SIGNATURE_INVALID for another message", func(t *testing.T) {
			requireRV(t, ck.CKR_SIGNATURE_INVALID, plan.Verify([]byte("outro"), kmsSig))
		})
		t.Run(name+" CKR_SIGNATURE_LEN_RANGE for 63 bytes", func(t *testing.T) {
			requireRV(t, ck.CKR_SIGNATURE_LEN_RANGE, plan.Verify(msg, kmsSig[:63]))
		})
	}
	t.Run("pure and prehash signatures differ in kind", func(t *testing.T) {
		pure, err := NewVerifyPlan(ck.CKM_EDDSA, nil, ed)
		require.NoError(t, err)
		requireRV(t, ck.CKR_SIGNATURE_INVALID, pure.Verify(msg, mustSign(t, priv, msg, true)))
	})
	t.Run("openssl verifies a pure signature", func(t *testing.T) {
		openssl, err := exec.LookPath("openssl")
		require.NoError(t, err, "openssl is needed as the independent verifier")
		dir := t.TempDir()
		plan, err := NewSignPlan(ck.CKM_EDDSA, nil, ed)
		require.NoError(t, err)
		req, err := plan.Request(msg)
		require.NoError(t, err)
		sig, err := plan.OutputVerified(req, ed25519.Sign(priv, req.Message))
		require.NoError(t, err)
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ed.Pub.SPKI})
		for n, b := range map[string][]byte{"pub.pem": pubPEM, "msg": msg, "sig": sig, "bad": append(bytes.Clone(msg), '!')} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o600))
		}
		verify := func(in string) error {
			return exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(dir, "pub.pem"), "-rawin",
				"-in", filepath.Join(dir, in), "-sigfile", filepath.Join(dir, "sig")).Run()
		}
		require.NoError(t, verify("msg"))
		require.Error(t, verify("bad"), "openssl must refuse another message")
	})
}

func mustSign(t *testing.T, priv ed25519.PrivateKey, msg []byte, ph bool) []byte {
	t.Helper()
	m, opts := msg, &ed25519.Options{}
	if ph {
		d := sha512.Sum512(msg)
		m, opts.Hash = d[:], crypto.SHA512
	}
	sig, err := priv.Sign(nil, m, opts)
	require.NoError(t, err)
	return sig
}

// FuzzParseEdDSAParams: any bytes parse without panic, and what parses
// encodes back to the same bytes.
func FuzzParseEdDSAParams(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{0, 'c', 't', 'x'})
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEdDSAParams(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		if len(b) > 0 {
			require.Equal(t, b, EncodeEdDSAParams(p))
		}
	})
}
