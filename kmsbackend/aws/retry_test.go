package aws

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryBudgetFitsTheCallTimeout(t *testing.T) {
	tests := []struct {
		name        string
		call        time.Duration
		attempts    int
		wantAttempt time.Duration
		wantBackoff time.Duration
	}{
		{"a third per attempt for 10 s and 3 attempts", 10 * time.Second, 3, 3333333333, 2500 * time.Millisecond},
		{"a fifth per attempt for 10 s and 5 attempts", 10 * time.Second, 5, 2 * time.Second, 1250 * time.Millisecond},
		{"the 1 s floor per attempt for 2 s and 5 attempts", 2 * time.Second, 5, time.Second, 250 * time.Millisecond},
		{"the SDK's 20 s backoff cap for a 100 s call", 100 * time.Second, 3, 33333333333, 20 * time.Second},
		{"no backoff for a single attempt", 5 * time.Second, 1, 5 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{CallTimeout: tt.call, MaxAttempts: tt.attempts}
			assert.Equal(t, tt.wantAttempt, attemptTimeout(o))
			assert.Equal(t, tt.wantBackoff, maxBackoff(o))
			assert.LessOrEqual(t, time.Duration(tt.attempts-1)*maxBackoff(o), tt.call/2, "pauses take at most half the budget")
		})
	}
}

func TestRetryDelaysAreJitteredAndCapped(t *testing.T) {
	o := Options{CallTimeout: 2 * time.Second, MaxAttempts: 5}
	r := newRetryer(o)
	for _, err := range []error{
		&smithy.GenericAPIError{Code: "ThrottlingException"}, // 1 s base in the SDK
		&smithy.GenericAPIError{Code: "KMSInternalException"},
	} {
		seen := map[time.Duration]bool{}
		for attempt := 1; attempt < o.MaxAttempts; attempt++ {
			for range 100 {
				d, derr := r.RetryDelay(attempt, err)
				require.NoError(t, derr)
				require.GreaterOrEqual(t, d, time.Duration(0))
				require.LessOrEqual(t, d, maxBackoff(o), "%v attempt %d", err, attempt)
				seen[d] = true
			}
		}
		assert.Greater(t, len(seen), 300, "jitter: %v gives distinct delays", err)
	}
}

// httpErr is a service error answered with the HTTP status, as the SDK builds it.
func httpErr(status int, code string) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code},
	}}
}

func TestRetryableErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"retried ThrottlingException (400)", httpErr(400, "ThrottlingException"), true},
		{"retried LimitExceededException (400)", httpErr(400, "LimitExceededException"), true},
		{"retried KMSInternalException (500)", httpErr(500, "KMSInternalException"), true},
		{"retried DependencyTimeoutException (500)", httpErr(500, "DependencyTimeoutException"), true},
		{"retried KeyUnavailableException (500)", httpErr(500, "KeyUnavailableException"), true},
		{"retried ServiceUnavailable (503)", httpErr(503, "ServiceUnavailable"), true},
		{"retried an unknown code with HTTP 502", httpErr(502, "BadGateway"), true},
		{"retried a dropped connection", &smithyhttp.RequestSendError{Err: io.EOF}, true},
		{"retried an attempt timeout", &attemptTimeoutError{timeout: time.Second, err: &smithy.CanceledError{Err: context.DeadlineExceeded}}, true},
		{"not retried NotFoundException", httpErr(400, "NotFoundException"), false},
		{"not retried DisabledException", httpErr(400, "DisabledException"), false},
		{"not retried AccessDeniedException", httpErr(400, "AccessDeniedException"), false},
		{"not retried InvalidKeyUsageException", httpErr(400, "InvalidKeyUsageException"), false},
		{"not retried ValidationException", httpErr(400, "ValidationException"), false},
		{"not retried InvalidCiphertextException", httpErr(400, "InvalidCiphertextException"), false},
		{"not retried a permanent code even with HTTP 500", httpErr(500, "NotFoundException"), false},
		{"not retried an unknown code with HTTP 400", httpErr(400, "SomethingNew"), false},
		{"not retried the call's own deadline", &smithy.CanceledError{Err: context.DeadlineExceeded}, false},
		{"not retried a cancellation", &smithy.CanceledError{Err: context.Canceled}, false},
	}
	r := newRetryer(Options{CallTimeout: 10 * time.Second, MaxAttempts: 3})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, r.IsErrorRetryable(tt.err))
		})
	}
}

// faultFixture is a seeded dev KMS whose faults each test row sets.
func faultFixture(t *testing.T) *devkms.Server {
	t.Helper()
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: seedPath})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return srv
}

func TestRetriesAgainstInjectedFaults(t *testing.T) {
	srv := faultFixture(t)
	ec := seedByAlias(t, "alias/dev-ec-p256")
	rsaSign := seedByAlias(t, "alias/dev-rsa-2048")
	dec := seedByAlias(t, "alias/dev-rsa-2048-decrypt")
	digest := sha256.Sum256([]byte("retry"))
	plain := []byte("secret")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, dec.Private.Public().(*rsa.PublicKey), plain, nil)
	require.NoError(t, err)

	ops := map[string]func(b *Backend) error{
		"Sign": func(b *Backend) error {
			_, err := b.Sign(context.Background(), arn(ec.ID), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, digest[:])
			return err
		},
		"Sign with ECDSA on an RSA key": func(b *Backend) error {
			_, err := b.Sign(context.Background(), arn(rsaSign.ID), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, digest[:])
			return err
		},
		"Sign with a key that does not exist": func(b *Backend) error {
			_, err := b.Sign(context.Background(), arn("00000000-0000-0000-0000-000000000000"), kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, digest[:])
			return err
		},
		"Decrypt": func(b *Backend) error {
			out, err := b.Decrypt(context.Background(), arn(dec.ID), kmsbackend.RSAES_OAEP_SHA_256, ct)
			if err == nil && string(out) != string(plain) {
				return errors.New("wrong plaintext")
			}
			return err
		},
		"GenerateRandom": func(b *Backend) error {
			_, err := b.GenerateRandom(context.Background(), 32)
			return err
		},
		"DescribeKey": func(b *Backend) error {
			_, err := b.DescribeKey(context.Background(), ec.ID)
			return err
		},
	}
	slow := 30 * time.Second
	tests := []struct {
		name      string
		op        string // key of ops; its first word is the KMS operation the faults hit
		faults    devkms.FaultConfig
		call      time.Duration
		attempts  int
		wantKind  string // "" for success
		wantCode  string
		wantReqs  int64
		minTime   time.Duration
		maxTime   time.Duration
		wantCount devkms.FaultCounts
	}{
		{"Sign succeeds after 2 throttles", "Sign", devkms.FaultConfig{Throttle: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, 5 * time.Second, devkms.FaultCounts{Throttle: 2}},
		{"Sign succeeds after 2 5xx", "Sign", devkms.FaultConfig{ServerError: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, time.Second, devkms.FaultCounts{ServerError: 2}},
		{"Sign succeeds after 2 dropped connections", "Sign", devkms.FaultConfig{Drop: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, time.Second, devkms.FaultCounts{Drop: 2}},
		{"Sign succeeds after one slow attempt, at the 1 s attempt timeout", "Sign", devkms.FaultConfig{Slow: 1, SlowDelay: slow, Limit: 1}, 3 * time.Second, 3, "", "", 2, time.Second, 2 * time.Second, devkms.FaultCounts{Slow: 1}},
		{"Decrypt succeeds after 2 5xx", "Decrypt", devkms.FaultConfig{ServerError: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, time.Second, devkms.FaultCounts{ServerError: 2}},
		{"GenerateRandom succeeds after 2 dropped connections", "GenerateRandom", devkms.FaultConfig{Drop: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, time.Second, devkms.FaultCounts{Drop: 2}},
		{"DescribeKey succeeds after 2 throttles", "DescribeKey", devkms.FaultConfig{Throttle: 1, Limit: 2}, 5 * time.Second, 3, "", "", 3, 0, 5 * time.Second, devkms.FaultCounts{Throttle: 2}},
		{"Sign throttled after 3 of 3 attempts", "Sign", devkms.FaultConfig{Throttle: 1}, 5 * time.Second, 3, "throttled", "ThrottlingException", 3, 0, 5 * time.Second, devkms.FaultCounts{Throttle: 3}},
		{"Sign unavailable after 5 of 5 attempts answered 5xx", "Sign", devkms.FaultConfig{ServerError: 1}, 5 * time.Second, 5, "unavailable", "KMSInternalException", 5, 0, 5 * time.Second, devkms.FaultCounts{ServerError: 5}},
		{"Sign unavailable after 4 of 4 dropped connections", "Sign", devkms.FaultConfig{Drop: 1}, 5 * time.Second, 4, "unavailable", "", 4, 0, 5 * time.Second, devkms.FaultCounts{Drop: 4}},
		{"Sign unavailable at the 2 s deadline when every answer is slow", "Sign", devkms.FaultConfig{Slow: 1, SlowDelay: slow}, 2 * time.Second, 3, "unavailable", "", 2, 2 * time.Second, 2200 * time.Millisecond, devkms.FaultCounts{Slow: 2}},
		{"not retried: Sign with ECDSA on an RSA key", "Sign with ECDSA on an RSA key", devkms.FaultConfig{}, 5 * time.Second, 3, "invalid-request", "InvalidKeyUsageException", 1, 0, time.Second, devkms.FaultCounts{}},
		{"not retried: Sign with a key that does not exist", "Sign with a key that does not exist", devkms.FaultConfig{}, 5 * time.Second, 3, "not-found", "NotFoundException", 1, 0, time.Second, devkms.FaultCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kmsOp := tt.op
			if i := len("Sign"); len(kmsOp) > i && kmsOp[:i] == "Sign" {
				kmsOp = "Sign"
			}
			f := tt.faults
			f.Ops = []string{kmsOp}
			require.NoError(t, srv.SetFaults(f))
			b, err := New(context.Background(), Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, CallTimeout: tt.call, MaxAttempts: tt.attempts})
			require.NoError(t, err)
			defer b.Close()

			start := time.Now()
			err = ops[tt.op](b)
			elapsed := time.Since(start)
			if tt.wantKind == "" {
				require.NoError(t, err)
			} else {
				requireKind(t, err, kindByName(t, tt.wantKind), kmsOp, tt.wantCode)
			}
			want := tt.wantCount
			want.Requests = tt.wantReqs
			assert.Equal(t, want, srv.FaultCounts(), "requests that reached the dev KMS and faults injected")
			assert.GreaterOrEqual(t, elapsed, tt.minTime)
			assert.Less(t, elapsed, tt.maxTime)
			t.Logf("%s: %d requests in %v", tt.op, srv.FaultCounts().Requests, elapsed.Round(time.Millisecond))
		})
	}
}

func TestMaxAttemptsNotOverriddenByEnvironment(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	srv := faultFixture(t)
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{ServerError: 1, Ops: []string{"GenerateRandom"}}))
	b, err := New(context.Background(), Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, MaxAttempts: 3})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.GenerateRandom(context.Background(), 8)
	// The dev KMS cycles its 5xx answers: the third is ServiceUnavailable.
	requireKind(t, err, kmsbackend.KindUnavailable, "GenerateRandom", "ServiceUnavailable")
	assert.Equal(t, devkms.FaultCounts{Requests: 3, ServerError: 3}, srv.FaultCounts())
}

func TestRetryQuotaStopsRetriesInALongOutage(t *testing.T) {
	srv := faultFixture(t)
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{ServerError: 1, Ops: []string{"GenerateRandom"}}))
	b, err := New(context.Background(), Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, MaxAttempts: 3})
	require.NoError(t, err)
	defer b.Close()
	var perCall []int64
	for range 25 {
		before := srv.FaultCounts().Requests
		_, err := b.GenerateRandom(context.Background(), 8)
		require.Equal(t, kmsbackend.KindUnavailable.String(), kmsbackend.KindOf(err).String(), "%v", err)
		perCall = append(perCall, srv.FaultCounts().Requests-before)
	}
	assert.Equal(t, int64(3), perCall[0], "a first failing call makes every attempt")
	assert.Equal(t, int64(1), perCall[len(perCall)-1], "once the quota is spent, one attempt per call")
	t.Logf("attempts per call in an outage: %v", perCall)
}

// kindByName returns the ErrorKind whose String is name.
func kindByName(t *testing.T, name string) kmsbackend.ErrorKind {
	for k := kmsbackend.KindUnknown; k < 100; k++ {
		if k.String() == name {
			return k
		}
	}
	t.Fatalf("no error kind %q", name)
	return 0
}

func TestCreateKeyAttemptIsNeverAbandoned(t *testing.T) {
	srv := faultFixture(t)
	// One slow answer, longer than an attempt's 1 s: a read would be retried;
	// CreateKey must not be, or a second key could be created.
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{Slow: 1, SlowDelay: 1500 * time.Millisecond, Limit: 1, Ops: []string{"CreateKey"}}))
	b, err := New(context.Background(), Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, CallTimeout: 5 * time.Second, MaxAttempts: 5})
	require.NoError(t, err)
	defer b.Close()
	before, err := b.ListKeys(context.Background())
	require.NoError(t, err)
	start := time.Now()
	_, err = b.CreateKey(context.Background(), kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, "", "attempt timeout test", nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)
	assert.Equal(t, devkms.FaultCounts{Requests: 1, Slow: 1}, srv.FaultCounts(), "one CreateKey request")
	after, err := b.ListKeys(context.Background())
	require.NoError(t, err)
	assert.Len(t, after, len(before)+1, "exactly one key created")
}
