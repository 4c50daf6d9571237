package aws

import (
	"context"
	"errors"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/p11kms/p11kms/kmsbackend"
)

// errorCodes classifies the service's error codes. Source: AWS KMS API
// reference, the Errors section of each operation, and "Common Errors"
// (codes every AWS API may return); local-kms rows name local-kms.
var errorCodes = map[string]kmsbackend.ErrorKind{
	"NotFoundException":                            kmsbackend.KindNotFound,       // KMS: the key or alias does not exist (400)
	"DisabledException":                            kmsbackend.KindDisabled,       // KMS: the key is disabled (400)
	"KMSInvalidStateException":                     kmsbackend.KindDisabled,       // KMS: key state (pending deletion/import, ...) forbids the call (400)
	"KeyUnavailableException":                      kmsbackend.KindUnavailable,    // KMS: key material temporarily unavailable, retry (500)
	"AccessDeniedException":                        kmsbackend.KindAccessDenied,   // Common: insufficient access (400)
	"UnrecognizedClientException":                  kmsbackend.KindAccessDenied,   // Common: invalid access key id or security token (400)
	"InvalidClientTokenId":                         kmsbackend.KindAccessDenied,   // Common: the access key id does not exist (403)
	"InvalidSignatureException":                    kmsbackend.KindAccessDenied,   // Common: SigV4 signature does not match (400)
	"IncompleteSignature":                          kmsbackend.KindAccessDenied,   // Common: request signature incomplete (400)
	"MissingAuthenticationToken":                   kmsbackend.KindAccessDenied,   // Common: no credentials in the request (403)
	"ExpiredTokenException":                        kmsbackend.KindAccessDenied,   // Common: session token expired (400)
	"NotAuthorizedException":                       kmsbackend.KindAccessDenied,   // local-kms: access denied
	"ThrottlingException":                          kmsbackend.KindThrottled,      // Common: request rate exceeded (400)
	"LimitExceededException":                       kmsbackend.KindThrottled,      // KMS: a quota (request rate or resource count) exceeded (400)
	"RequestLimitExceeded":                         kmsbackend.KindThrottled,      // Common: request rate exceeded
	"KMSInternalException":                         kmsbackend.KindUnavailable,    // KMS: internal failure (500)
	"DependencyTimeoutException":                   kmsbackend.KindUnavailable,    // KMS: a system component timed out, retry (500)
	"InternalFailure":                              kmsbackend.KindUnavailable,    // Common: internal failure (500)
	"InternalFailureException":                     kmsbackend.KindUnavailable,    // local-kms and devkms: internal failure (500)
	"ServiceUnavailable":                           kmsbackend.KindUnavailable,    // Common: temporary failure (503)
	"CustomKeyStoreInvalidStateException":          kmsbackend.KindUnavailable,    // KMS: the key's custom key store is not connected (400)
	"CloudHsmClusterInvalidConfigurationException": kmsbackend.KindUnavailable,    // KMS: the CloudHSM cluster backing the key store is unusable (400)
	"InvalidKeyUsageException":                     kmsbackend.KindInvalidRequest, // KMS: the key's usage or algorithms do not allow the call (400)
	"ValidationException":                          kmsbackend.KindInvalidRequest, // Common: input fails a constraint (400)
	"KMSInvalidSignatureException":                 kmsbackend.KindInvalidRequest, // KMS Verify: signature invalid (400)
	"KMSInvalidMacException":                       kmsbackend.KindInvalidRequest, // KMS VerifyMac: MAC invalid (400)
	"InvalidGrantTokenException":                   kmsbackend.KindInvalidRequest, // KMS: grant token invalid (400)
	"InvalidArnException":                          kmsbackend.KindInvalidRequest, // KMS: ARN malformed (400)
	"InvalidAliasNameException":                    kmsbackend.KindInvalidRequest, // KMS CreateAlias: alias name invalid (400)
	"AlreadyExistsException":                       kmsbackend.KindInvalidRequest, // KMS CreateAlias: the alias exists (400)
	"InvalidMarkerException":                       kmsbackend.KindInvalidRequest, // KMS List*: pagination marker invalid (400)
	"MalformedPolicyDocumentException":             kmsbackend.KindInvalidRequest, // KMS CreateKey: key policy invalid (400)
	"TagException":                                 kmsbackend.KindInvalidRequest, // KMS CreateKey: tags invalid (400)
	"InvalidParameterValue":                        kmsbackend.KindInvalidRequest, // Common: parameter value invalid (400)
	"InvalidParameterCombination":                  kmsbackend.KindInvalidRequest, // Common: parameters cannot be used together (400)
	"MissingParameter":                             kmsbackend.KindInvalidRequest, // Common: required parameter missing (400)
	"MissingParameterException":                    kmsbackend.KindInvalidRequest, // local-kms: required parameter missing (400)
	"SerializationException":                       kmsbackend.KindInvalidRequest, // awsJson1_1 protocol: request body malformed (400)
	"UnsupportedOperationException":                kmsbackend.KindUnsupported,    // KMS: operation not supported for this key (400)

	"InvalidCiphertextException": kmsbackend.KindInvalidCiphertext, // KMS Decrypt: ciphertext or context is invalid (400)
	"IncorrectKeyException":      kmsbackend.KindInvalidCiphertext, // KMS Decrypt: the key is not the one that encrypted (400)
}

// classify turns an SDK error into a *kmsbackend.Error: by the service's
// error code first (errorCodes), then by what went wrong around it.
func classify(op string, err error) *kmsbackend.Error {
	e := &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: op, Err: err}
	var status int
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
		if k, ok := errorCodes[e.Code]; ok {
			e.Kind = k
			return e
		}
	}
	var ce *credentialsError
	switch {
	case errors.As(err, &ce):
		e.Kind = kmsbackend.KindAccessDenied // the credential chain found nothing usable
	case status == 501:
		e.Kind = kmsbackend.KindUnsupported // HTTP 501 Not Implemented (local-kms: unimplemented operation)
	case status >= 500:
		e.Kind = kmsbackend.KindUnavailable // RFC 9110 §15.6: server error
	case status == 429:
		e.Kind = kmsbackend.KindThrottled // RFC 6585 §4: Too Many Requests
	case status == 401 || status == 403:
		e.Kind = kmsbackend.KindAccessDenied // RFC 9110 §15.5.2/§15.5.4
	case status >= 400:
		e.Kind = kmsbackend.KindInvalidRequest // RFC 9110 §15.5: client error
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Kind = kmsbackend.KindUnavailable // the call did not finish in time
	case isTransport(err):
		e.Kind = kmsbackend.KindUnavailable // connection refused/reset, DNS, TLS
	}
	return e
}

// isTransport reports a failure to exchange a request and response.
func isTransport(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var rf *smithyhttp.RequestSendError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &rf)
}
