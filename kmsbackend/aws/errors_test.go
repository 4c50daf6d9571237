package aws

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireKind asserts err is a *kmsbackend.Error of the kind, op and code.
func requireKind(t *testing.T, err error, kind kmsbackend.ErrorKind, op, code string) {
	t.Helper()
	var be *kmsbackend.Error
	require.True(t, errors.As(err, &be), "want *kmsbackend.Error, got %T: %v", err, err)
	assert.Equal(t, kind.String(), be.Kind.String(), "kind of %v", err)
	assert.Equal(t, op, be.Op)
	assert.Equal(t, code, be.Code)
}

func TestErrorKindsFromDevKMS(t *testing.T) {
	f := newFixture(t)
	raw := rawClient(f.srv.URL())
	p256 := seedByAlias(t, "alias/dev-ec-p256")
	rsaSign := seedByAlias(t, "alias/dev-rsa-2048")
	rsaDec := seedByAlias(t, "alias/dev-rsa-2048-decrypt")
	disabled := seedByAlias(t, "alias/dev-ec-p384")
	_, err := raw.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: awssdk.String(disabled.ID)})
	require.NoError(t, err)
	pending := seedByAlias(t, "alias/dev-ec-p521")
	require.NoError(t, f.b.ScheduleKeyDeletion(context.Background(), pending.ID, 30))

	d256 := sha256.Sum256([]byte("m"))
	d384 := sha512.Sum384([]byte("m"))
	d512 := sha512.Sum512([]byte("m"))
	unknown := "11111111-2222-4333-8444-555555555555"
	ctx := context.Background()
	tests := []struct {
		name     string
		call     func() error
		kind     kmsbackend.ErrorKind
		op, code string
	}{
		{"not found for DescribeKey of an unknown key id", func() error { _, err := f.b.DescribeKey(ctx, unknown); return err }, kmsbackend.KindNotFound, "DescribeKey", "NotFoundException"},
		{"not found for DescribeKey of an unknown alias", func() error { _, err := f.b.DescribeKey(ctx, "alias/nope"); return err }, kmsbackend.KindNotFound, "DescribeKey", "NotFoundException"},
		{"not found for Sign with an unknown key", func() error {
			_, err := f.b.Sign(ctx, arn(unknown), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, d256[:])
			return err
		}, kmsbackend.KindNotFound, "Sign", "NotFoundException"},
		{"disabled for Sign with a disabled key", func() error {
			_, err := f.b.Sign(ctx, arn(disabled.ID), kmsbackend.ECDSA_SHA_384, kmsbackend.MessageDigest, d384[:])
			return err
		}, kmsbackend.KindDisabled, "Sign", "DisabledException"},
		{"disabled for Sign with a key pending deletion", func() error {
			_, err := f.b.Sign(ctx, arn(pending.ID), kmsbackend.ECDSA_SHA_512, kmsbackend.MessageDigest, d512[:])
			return err
		}, kmsbackend.KindDisabled, "Sign", "KMSInvalidStateException"},
		{"invalid request for P-256 with ECDSA_SHA_384", func() error {
			_, err := f.b.Sign(ctx, arn(p256.ID), kmsbackend.ECDSA_SHA_384, kmsbackend.MessageDigest, d384[:])
			return err
		}, kmsbackend.KindInvalidRequest, "Sign", "InvalidKeyUsageException"},
		{"invalid request for RSA with ECDSA_SHA_256", func() error {
			_, err := f.b.Sign(ctx, arn(rsaSign.ID), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, d256[:])
			return err
		}, kmsbackend.KindInvalidRequest, "Sign", "InvalidKeyUsageException"},
		{"invalid request for a 48-byte digest with ECDSA_SHA_256", func() error {
			_, err := f.b.Sign(ctx, arn(p256.ID), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, d384[:])
			return err
		}, kmsbackend.KindInvalidRequest, "Sign", "ValidationException"},
		{"invalid request for Sign with an ENCRYPT_DECRYPT key", func() error {
			_, err := f.b.Sign(ctx, arn(rsaDec.ID), kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.MessageDigest, d256[:])
			return err
		}, kmsbackend.KindInvalidRequest, "Sign", "InvalidKeyUsageException"},
		{"invalid request for an unknown algorithm, without a call", func() error {
			_, err := f.b.Sign(ctx, arn(p256.ID), kmsbackend.SignUnknown, kmsbackend.MessageDigest, d256[:])
			return err
		}, kmsbackend.KindInvalidRequest, "Sign", ""},
		{"invalid ciphertext for a ciphertext that is not one", func() error {
			_, err := f.b.Decrypt(ctx, arn(rsaDec.ID), kmsbackend.RSAES_OAEP_SHA_256, make([]byte, 256))
			return err
		}, kmsbackend.KindInvalidCiphertext, "Decrypt", "InvalidCiphertextException"},
		{"invalid request for 0 random bytes, without a call", func() error { _, err := f.b.GenerateRandom(ctx, 0); return err }, kmsbackend.KindInvalidRequest, "GenerateRandom", ""},
		{"invalid request for 1025 random bytes, without a call", func() error { _, err := f.b.GenerateRandom(ctx, 1025); return err }, kmsbackend.KindInvalidRequest, "GenerateRandom", ""},
		{"invalid request for a 6-day deletion window, without a call", func() error { return f.b.ScheduleKeyDeletion(ctx, arn(p256.ID), 6) }, kmsbackend.KindInvalidRequest, "ScheduleKeyDeletion", ""},
		{"invalid request for a 31-day deletion window, without a call", func() error { return f.b.ScheduleKeyDeletion(ctx, arn(p256.ID), 31) }, kmsbackend.KindInvalidRequest, "ScheduleKeyDeletion", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireKind(t, tt.call(), tt.kind, tt.op, tt.code)
		})
	}
}

// faultServer is a loopback HTTP server answering every request with
// handler; it counts requests.
func faultServer(t *testing.T, handler func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// jsonError answers with an awsJson1_1 error of the code and status.
func jsonError(status int, code string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"__type":"` + code + `","message":"injected"}`))
	}
}

func TestErrorKindsFromFaults(t *testing.T) {
	tests := []struct {
		name        string
		handler     func(http.ResponseWriter)
		maxAttempts int
		kind        kmsbackend.ErrorKind
		code        string
		wantCalls   int32
	}{
		{"throttled for ThrottlingException after 1 attempt", jsonError(400, "ThrottlingException"), 1, kmsbackend.KindThrottled, "ThrottlingException", 1},
		{"throttled for ThrottlingException after 2 attempts (retried)", jsonError(400, "ThrottlingException"), 2, kmsbackend.KindThrottled, "ThrottlingException", 2},
		{"unavailable for a dropped connection after 3 attempts", func(http.ResponseWriter) { panic(http.ErrAbortHandler) }, 3, kmsbackend.KindUnavailable, "", 3},
		{"throttled for LimitExceededException", jsonError(400, "LimitExceededException"), 1, kmsbackend.KindThrottled, "LimitExceededException", 1},
		{"access denied for AccessDeniedException", jsonError(400, "AccessDeniedException"), 1, kmsbackend.KindAccessDenied, "AccessDeniedException", 1},
		{"access denied for UnrecognizedClientException", jsonError(400, "UnrecognizedClientException"), 1, kmsbackend.KindAccessDenied, "UnrecognizedClientException", 1},
		{"unsupported for UnsupportedOperationException", jsonError(400, "UnsupportedOperationException"), 1, kmsbackend.KindUnsupported, "UnsupportedOperationException", 1},
		{"unavailable for KMSInternalException after 3 attempts", jsonError(500, "KMSInternalException"), 3, kmsbackend.KindUnavailable, "KMSInternalException", 3},
		{"unavailable for HTTP 503 without a code after 2 attempts", func(w http.ResponseWriter) { w.WriteHeader(503) }, 2, kmsbackend.KindUnavailable, "UnknownError", 2},
		{"unsupported for HTTP 501 with a text body", func(w http.ResponseWriter) {
			w.WriteHeader(501)
			_, _ = w.Write([]byte("Passed X-Amz-Target (TrentService.Sign) is not implemented"))
		}, 3, kmsbackend.KindUnsupported, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := faultServer(t, tt.handler)
			b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL, Anonymous: true, MaxAttempts: tt.maxAttempts, CallTimeout: 20 * time.Second})
			require.NoError(t, err)
			defer b.Close()
			_, err = b.Sign(context.Background(), "alias/x", kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, make([]byte, 32))
			requireKind(t, err, tt.kind, "Sign", tt.code)
			assert.Equal(t, tt.wantCalls, calls.Load())
		})
	}
}

func TestAccessDeniedWithoutCredentials(t *testing.T) {
	f := newFixture(t)
	empty := t.TempDir() + "/none"
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: f.srv.URL(), CallTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.ListKeys(context.Background())
	requireKind(t, err, kmsbackend.KindAccessDenied, "ListKeys", "")

	t.Run("signed requests with credentials from the environment reach the dev KMS", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-dev-only")
		b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: f.srv.URL(), CallTimeout: 5 * time.Second})
		require.NoError(t, err)
		defer b.Close()
		keys, err := b.ListKeys(context.Background())
		require.NoError(t, err)
		assert.Len(t, keys, len(seedKeys))
	})

	t.Run("invalid request without a region for signed requests", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		_, err := New(context.Background(), Options{Endpoint: f.srv.URL()})
		requireKind(t, err, kmsbackend.KindInvalidRequest, "New", "")
	})

	t.Run("access denied for a profile that does not exist", func(t *testing.T) {
		_, err := New(context.Background(), Options{Region: "us-east-1", Profile: "no-such-profile", Endpoint: f.srv.URL()})
		requireKind(t, err, kmsbackend.KindAccessDenied, "LoadConfig", "")
	})
}

func TestNewRefusesAnonymousOffLoopback(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		ok       bool
	}{
		{"accepted for 127.0.0.1", "http://127.0.0.1:4599", true},
		{"accepted for 127.8.9.10 (all of 127.0.0.0/8)", "http://127.8.9.10:4599", true},
		{"accepted for ::1", "http://[::1]:4599", true},
		{"accepted for localhost", "http://localhost:4599", true},
		{"refused for the AWS endpoint", "https://kms.us-east-1.amazonaws.com", false},
		{"refused for a private address", "http://10.0.0.1:4599", false},
		{"refused for all interfaces", "http://0.0.0.0:4599", false},
		{"refused for a name that starts like localhost", "http://localhost.example.com:4599", false},
		{"refused for a name that embeds 127.0.0.1", "http://127.0.0.1.nip.io:4599", false},
		{"refused without an endpoint", "", false},
		{"refused for an endpoint without a scheme", "127.0.0.1:4599", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: tt.endpoint, Anonymous: true})
			if tt.ok {
				require.NoError(t, err)
				require.NoError(t, b.Close())
				return
			}
			requireKind(t, err, kmsbackend.KindInvalidRequest, "New", "")
			assert.Nil(t, b)
		})
	}
}
