package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/p11kms/p11kms/kmsbackend"
)

// Retry policy. Every call (reads and Sign, Decrypt, GenerateRandom alike:
// none changes anything a repeat could double) gets up to
// Options.MaxAttempts attempts, all within Options.CallTimeout:
//   - transient failures are retried: throttling, 5xx, dropped or refused
//     connections, and an attempt that got no answer within its own timeout;
//   - anything the service answered as permanent (not found, disabled, access
//     denied, invalid request, unsupported) is returned after one attempt;
//   - the pause before a retry is the SDK standard retryer's jittered
//     exponential backoff (50 ms base, 1 s for throttling), capped by
//     maxBackoff so that the pauses use at most half the call's budget;
//   - each attempt of a read or cryptographic operation (attemptTimedOps) is
//     bounded by attemptTimeout, so one slow answer leaves time for another.
//
// The SDK's client-wide retry quota stays on (a retry costs tokens that a
// success refunds): during an outage it stops retries, so calls fail fast
// instead of multiplying the load on a struggling service.

// minAttemptTimeout is the least time one attempt gets.
const minAttemptTimeout = time.Second

// attemptTimeout is the time one attempt gets: CallTimeout/MaxAttempts, at
// least minAttemptTimeout (the call's deadline still bounds it).
func attemptTimeout(o Options) time.Duration {
	return max(o.CallTimeout/time.Duration(o.MaxAttempts), minAttemptTimeout)
}

// maxBackoff caps one pause between attempts so that the MaxAttempts-1
// pauses take at most half of CallTimeout (and never more than the SDK's own cap).
func maxBackoff(o Options) time.Duration {
	if o.MaxAttempts <= 1 {
		return 0
	}
	return min(o.CallTimeout/time.Duration(2*(o.MaxAttempts-1)), retry.DefaultMaxBackoff)
}

// transientCodes are service error codes retried whatever their HTTP status
// (the SDK already retries HTTP 500/502/503/504, its throttling codes and
// connection errors).
var transientCodes = map[string]struct{}{
	"KMSInternalException":       {}, // AWS KMS API reference: "The request can be retried." (500)
	"DependencyTimeoutException": {}, // AWS KMS API reference: "You can retry the request." (500)
	"KeyUnavailableException":    {}, // AWS KMS API reference: key material temporarily unavailable (500)
	"InternalFailure":            {}, // AWS Common Errors (500)
	"ServiceUnavailable":         {}, // AWS Common Errors: temporary failure of the server (503)
	"ThrottlingException":        {}, // AWS Common Errors; AWS KMS Developer Guide, "Throttling AWS KMS requests" (400)
}

// retriedKinds are the error kinds (errors.go classifies codes) that a
// repeat of the same request may cure; every other classified code (not
// found, disabled, access denied, invalid request or ciphertext,
// unsupported) is permanent.
var retriedKinds = map[kmsbackend.ErrorKind]bool{
	kmsbackend.KindThrottled:   true,
	kmsbackend.KindUnavailable: true,
}

// newRetryer is the SDK standard retryer with the policy above.
func newRetryer(o Options) awssdk.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.MaxBackoff = maxBackoff(o)
		so.Retryables = append([]retry.IsErrorRetryable{
			retry.IsErrorRetryableFunc(retryAttemptTimeout),
			retry.NoRetryCanceledError{},
			retry.RetryableError{}, // errors that say so (the SDK's clock-skew correction)
			retry.IsErrorRetryableFunc(noRetryPermanent),
			retry.RetryableErrorCode{Codes: transientCodes},
		}, retry.DefaultRetryables...)
	})
}

// retryLoadOptions configures the SDK client with the retry policy: the
// retryer, its attempt count (pinned, so AWS_MAX_ATTEMPTS or a profile's
// max_attempts cannot disagree with the attempt timeout computed from it),
// and the per-attempt timeout inside its loop.
func retryLoadOptions(o Options) []func(*config.LoadOptions) error {
	d := attemptTimeout(o)
	return []func(*config.LoadOptions) error{
		config.WithRetryer(func() awssdk.Retryer { return newRetryer(o) }),
		config.WithRetryMaxAttempts(o.MaxAttempts),
		config.WithAPIOptions([]func(*middleware.Stack) error{
			func(s *middleware.Stack) error {
				return s.Finalize.Insert(&attemptTimer{timeout: d, log: o.Logger}, "Retry", middleware.After)
			},
		}),
	}
}

// retryAttemptTimeout retries an attempt that timed out while its call had time left.
func retryAttemptTimeout(err error) awssdk.Ternary {
	var ae *attemptTimeoutError
	if errors.As(err, &ae) {
		return awssdk.TrueTernary
	}
	return awssdk.UnknownTernary
}

// noRetryPermanent refuses to retry an error code classified as permanent.
func noRetryPermanent(err error) awssdk.Ternary {
	var api smithy.APIError
	if errors.As(err, &api) {
		if kind, ok := errorCodes[api.ErrorCode()]; ok && !retriedKinds[kind] {
			return awssdk.FalseTernary
		}
	}
	return awssdk.UnknownTernary
}

// attemptTimedOps are the operations whose slow attempt is abandoned for a
// new one: reads and cryptographic operations, which change nothing in KMS
// (AWS KMS API reference, each operation's description). CreateKey,
// CreateAlias and ScheduleKeyDeletion are left out: an abandoned attempt may
// still complete, and a second one would create a second key or fail on
// the first one's alias or deletion; only the call's deadline bounds them.
var attemptTimedOps = map[string]bool{
	"Sign":             true, // signs; no state change
	"Decrypt":          true, // decrypts; no state change
	"GenerateRandom":   true, // returns random bytes; no state change
	"GenerateMac":      true, // computes a MAC; no state change
	"VerifyMac":        true, // verifies a MAC; no state change
	"DescribeKey":      true, // read
	"GetPublicKey":     true, // read
	"ListKeys":         true, // read
	"ListAliases":      true, // read
	"ListResourceTags": true, // read
}

// attemptTimer is a Finalize middleware that runs after the retry loop's
// own middleware, so it bounds each attempt rather than the whole call.
type attemptTimer struct {
	timeout time.Duration
	log     *slog.Logger
}

// ID implements middleware.FinalizeMiddleware.
func (*attemptTimer) ID() string { return "P11kmsAttemptTimeout" }

// HandleFinalize runs one attempt of an attemptTimedOps operation under its
// own timeout (others as they are). An attempt that
// runs out of time while the call still has some becomes an
// attemptTimeoutError, which the retryer retries.
func (a *attemptTimer) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	if !attemptTimedOps[op] {
		return next.HandleFinalize(ctx, in)
	}
	actx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	start := time.Now()
	out, md, err := next.HandleFinalize(actx, in)
	if err == nil {
		return out, md, nil
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		err = &attemptTimeoutError{timeout: a.timeout, err: err}
	}
	if a.log != nil {
		a.log.Debug("kms attempt failed", "op", op, "kind", classify("", err).Kind.String(), "dur", time.Since(start))
	}
	return out, md, err
}

// attemptTimeoutError is an attempt that got no answer within its timeout.
type attemptTimeoutError struct {
	timeout time.Duration
	err     error
}

// Error implements error.
func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within the attempt timeout of %v: %v", e.timeout, e.err)
}

// Unwrap returns the attempt's error.
func (e *attemptTimeoutError) Unwrap() error { return e.err }

// Timeout reports that the error is a timeout (net.Error's convention).
func (e *attemptTimeoutError) Timeout() bool { return true }
