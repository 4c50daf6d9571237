package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// DESIGN.md: never log PINs, credentials, plaintext or key material. These
// tests run a workload at debug level into a log file and search the file
// for every secret the workload handled, in every encoding a careless log
// line would use.

// secretForms returns s and its hexadecimal and base64 encodings.
func secretForms(s []byte) []string {
	return []string{string(s), hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
		base64.StdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s)}
}

// secretMarker returns a fresh random marker, so that no secret can be
// found in the log by coincidence.
func secretMarker(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// secretEnv puts marker credentials in the environment the AWS SDK reads and
// keeps it from reading anything else (shared files, instance metadata).
func secretEnv(t *testing.T, mark string) []string {
	creds := []string{"AKIASECRETID" + strings.ToUpper(mark), "secret-access-key-" + mark, "session-token-" + mark}
	t.Setenv("AWS_ACCESS_KEY_ID", creds[0])
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds[1])
	t.Setenv("AWS_SESSION_TOKEN", creds[2])
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "absent-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "absent-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return creds
}

// seededDevKMS starts a dev KMS holding an RSA-2048 and a P-256 key whose
// private halves the test knows.
func seededDevKMS(t *testing.T) (url string, keys []devkms.SeedKey) {
	keys, err := devkms.GenerateSeed([]devkms.StandardKey{
		{Spec: kmsbackend.SpecRSA2048, Usage: kmsbackend.UsageSignVerify, Alias: "alias/secret-rsa"},
		{Spec: kmsbackend.SpecECCNISTP256, Usage: kmsbackend.UsageSignVerify, Alias: "alias/secret-p256"},
	})
	require.NoError(t, err)
	seed := filepath.Join(t.TempDir(), "seed.yaml")
	require.NoError(t, devkms.WriteSeedFile(seed, keys))
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: seed})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv.URL(), keys
}

// privateForms returns encodings of a seeded key's private material.
func privateForms(t *testing.T, k devkms.SeedKey) []string {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	require.NoError(t, err)
	out := []string{base64.StdEncoding.EncodeToString(der)[40:104], hex.EncodeToString(der)[80:200], "PRIVATE KEY"}
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		out = append(out, secretForms(p.D.Bytes())...)
		out = append(out, p.D.String(), p.Primes[0].String())
	case *ecdsa.PrivateKey:
		d, err := p.Bytes()
		require.NoError(t, err)
		out = append(out, secretForms(d)...)
		out = append(out, p.D.String())
	}
	return out
}

func TestSecretsNeverReachTheDebugLog(t *testing.T) {
	mark := secretMarker(t)
	creds := secretEnv(t, mark)
	url, keys := seededDevKMS(t)
	pin, wrongPIN := "pin-"+mark, "wrong-pin-"+mark
	password := "endpoint-password-" + mark
	userinfoURL := strings.Replace(url, "http://", "http://fuzz:"+password+"@", 1)
	hash, err := hashPINWith(pin, 1000)
	require.NoError(t, err)
	logPath := filepath.Join(t.TempDir(), "module.log")
	cfg := fmt.Sprintf(`log: {level: debug, file: %q}
tokens:
  - label: signed
    region: us-east-1
    endpoint: %q
    pin: %q
    keys: {aliases: [secret-rsa, secret-p256]}
  - label: userinfo
    region: us-east-1
    endpoint: %q
    anonymous: true
    keys: {aliases: [secret-p256]}
  - label: unreachable
    region: us-east-1
    endpoint: "http://fuzz:%s@127.0.0.1:1"
    anonymous: true
    call_timeout: 2s
`, logPath, url, hash, userinfoURL, password)
	cfgPath := filepath.Join(t.TempDir(), "p11kms.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	m := New()
	m.Getenv = func(k string) string { return map[string]string{ConfigEnv: cfgPath}[k] }
	call := func(fn string, err error) string { m.LogResult(fn, err); return rvOf(err) } // as cgo's done() does
	require.Equal(t, "CKR_OK", call("C_Initialize", m.Initialize(InitArgs{})))
	sh, err := m.OpenSession(0, ck.CKF_SERIAL_SESSION)
	require.Equal(t, "CKR_OK", call("C_OpenSession", err))
	assert.Equal(t, "CKR_PIN_INCORRECT", call("C_Login", m.Login(sh, ck.CKU_USER, []byte(wrongPIN))))
	assert.Equal(t, "CKR_PIN_INCORRECT", call("C_Login", m.Login(sh, ck.CKU_USER, []byte(pin+"x"))))
	assert.Equal(t, "CKR_PIN_LEN_RANGE", call("C_Login", m.Login(sh, ck.CKU_USER, []byte(strings.Repeat(pin, 20)))))
	require.Equal(t, "CKR_OK", call("C_Login", m.Login(sh, ck.CKU_USER, []byte(pin))))

	message := []byte("TOP-SECRET-PLAINTEXT-" + mark)
	digest := sha256.Sum256(message)
	secrets := append(append(secretForms([]byte(pin)), secretForms([]byte(wrongPIN))...), password)
	secrets = append(secrets, secretForms(message)...)
	secrets = append(secrets, secretForms(digest[:])...)
	secrets = append(secrets, secretForms(digestInfo(crypto.SHA256, message))...)
	for _, c := range creds {
		secrets = append(secrets, c)
	}
	for _, k := range keys {
		secrets = append(secrets, privateForms(t, k)...)
	}
	for _, c := range []struct {
		alias string
		mech  uint
		in    []byte
		rv    string
	}{
		{"secret-rsa", ck.CKM_SHA256_RSA_PKCS, message, "CKR_OK"},
		{"secret-rsa", ck.CKM_RSA_PKCS, digestInfo(crypto.SHA256, message), "CKR_OK"},
		{"secret-rsa", ck.CKM_RSA_PKCS, message, "CKR_DATA_INVALID"}, // not a DigestInfo: refused, data not echoed
		{"secret-p256", ck.CKM_ECDSA_SHA256, message, "CKR_OK"},
		{"secret-p256", ck.CKM_ECDSA, digest[:], "CKR_OK"},
	} {
		priv, pub := keyPair(t, m, sh, c.alias)
		require.Equal(t, "CKR_OK", call("C_SignInit", m.SignInit(sh, Mechanism{Type: c.mech}, priv)))
		sig, _, err := m.Sign(sh, c.in, false, 4096)
		require.Equal(t, c.rv, call("C_Sign", err), "%s %s", c.alias, ck.MechName(c.mech))
		if c.rv != "CKR_OK" {
			continue
		}
		require.NoError(t, independentVerify(attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO), c.mech, c.in, sig))
		require.Equal(t, "CKR_OK", call("C_VerifyInit", m.VerifyInit(sh, Mechanism{Type: c.mech}, pub)))
		sig[0] ^= 1
		assert.Equal(t, "CKR_SIGNATURE_INVALID", call("C_Verify", m.Verify(sh, c.in, sig)))
	}
	random, err := m.GenerateRandom(sh, 32)
	require.Equal(t, "CKR_OK", call("C_GenerateRandom", err))
	secrets = append(secrets, secretForms(random)...)

	sh2, err := m.OpenSession(1, ck.CKF_SERIAL_SESSION) // the token whose endpoint holds a password
	require.Equal(t, "CKR_OK", call("C_OpenSession", err))
	assert.Equal(t, "CKR_OK", call("C_FindObjectsInit", m.FindObjectsInit(sh2, nil)))
	sh3, err := m.OpenSession(2, ck.CKF_SERIAL_SESSION) // the same password, and a connection error to report
	require.Equal(t, "CKR_OK", call("C_OpenSession", err))
	assert.Equal(t, "CKR_DEVICE_ERROR", call("C_FindObjectsInit", m.FindObjectsInit(sh3, nil)))
	require.Equal(t, "CKR_OK", call("C_Logout", m.Logout(sh)))
	require.Equal(t, "CKR_OK", call("C_Finalize", m.Finalize()))

	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	log := string(b)
	for _, want := range []string{"p11kms initialized", "fn=C_Login rv=CKR_PIN_INCORRECT", "fn=C_Sign rv=CKR_OK",
		"fn=C_Sign rv=CKR_DATA_INVALID", "fn=C_GenerateRandom", "keys discovered", "token=userinfo",
		"fn=C_FindObjectsInit rv=CKR_DEVICE_ERROR", "p11kms finalized"} {
		assert.Contains(t, log, want, "the log recorded the workload")
	}
	for _, s := range secrets {
		assert.NotContains(t, log, s, "secret in the module log %s", logPath)
	}
}

// TestSecretsNotInInitializeErrors: a configuration C_Initialize rejects is
// reported in the error cgo logs at the boundary (log.go LogResult); that
// error must not carry the secret the configuration held.
func TestSecretsNotInInitializeErrors(t *testing.T) {
	mark := secretMarker(t)
	secret := "cfg-secret-" + mark
	for _, c := range []struct {
		name, token string
	}{
		{"CKR_FUNCTION_FAILED for a plaintext PIN where its hash belongs", `pin: "` + secret + `"`},
		{"CKR_FUNCTION_FAILED for an unknown field holding a secret", `password: "` + secret + `"`},
		{"CKR_FUNCTION_FAILED for anonymous access to a non-loopback endpoint with a password",
			`endpoint: "https://user:` + secret + `@kms.example.com"` + "\n    anonymous: true"},
		{"CKR_FUNCTION_FAILED for an endpoint of another scheme with a password", `endpoint: "ftp://user:` + secret + `@127.0.0.1:1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := "tokens:\n  - label: x\n    region: us-east-1\n    " + c.token + "\n"
			err := New().Initialize(InitArgs{Present: true, Reserved: cfg})
			require.Equal(t, "CKR_FUNCTION_FAILED", rvOf(err))
			assert.NotContains(t, err.Error(), secret)
		})
	}
}
