package devkms

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helpers of the own-key tests (ownkeys_test.go, mldsa_test.go,
// ecdh_test.go, sm2_test.go, sm2pke_test.go).

// ownServer starts an empty dev KMS for one test.
func ownServer(t *testing.T) *kms.Client {
	t.Helper()
	s, err := Start(context.Background(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return ownClient(s.URL())
}

// ownClient is client (server_test.go) with the SDK's standard 3 attempts:
// under -race about 1 in 50 runs of these tests saw a 200 response whose
// body read failed with "use of closed network connection" on the client's
// side (aws-sdk-go-v2 issue #2737, which the SDK retries); the retried
// operations are idempotent here and no 4xx the tests expect is retried.
func ownClient(url string) *kms.Client {
	return kms.New(kms.Options{
		Region:           DefaultRegion,
		BaseEndpoint:     awssdk.String(url),
		Credentials:      awssdk.AnonymousCredentials{},
		RetryMaxAttempts: 3,
	})
}

// createOwn creates a key of spec and usage and returns its metadata.
func createOwn(t *testing.T, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType) *types.KeyMetadata {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	require.NoError(t, err)
	return out.KeyMetadata
}

// publicKey returns the key's DER SPKI from GetPublicKey.
func publicKey(t *testing.T, c *kms.Client, id string) []byte {
	t.Helper()
	out, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: awssdk.String(id)})
	require.NoError(t, err)
	return out.PublicKey
}

// requireAPIError checks that err is the AWS exception named code.
func requireAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want %s, got %v", code, err)
	assert.Equal(t, code, ae.ErrorCode(), "error: %v", err)
}

// writeFile writes data to name in dir and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// writePublicPEM writes a DER SPKI as a PEM file for openssl.
func writePublicPEM(t *testing.T, dir, name string, spki []byte) string {
	t.Helper()
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
}

// openssl runs the openssl CLI and returns its stdout; a failure fails the
// test (openssl is a required test tool, never skipped).
func openssl(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("openssl", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("openssl %v: %v: %s%s", args, err, out, ee.Stderr)
		}
		t.Fatalf("openssl %v: %v", args, err)
	}
	return out
}

// spkiFields is a SubjectPublicKeyInfo read with encoding/asn1 alone.
type spkiFields struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// OIDs of the SPKIs GetPublicKey returns. Sources: RFC 5480 (id-ecPublicKey,
// named curves), GB/T 35276 (SM2 curve), RFC 9881 (ML-DSA).
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384        = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521        = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	oidSM2         = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidMLDSA44     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
)
