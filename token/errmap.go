package token

import (
	"errors"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// backendRV maps each backend error kind to the CK_RV the caller receives
// (DESIGN.md: one table). Source: PKCS#11 2.40 §5.1 return value meanings.
var backendRV = map[kmsbackend.ErrorKind]uint{
	kmsbackend.KindNotFound:       ck.CKR_KEY_HANDLE_INVALID,         // the key no longer exists in KMS
	kmsbackend.KindDisabled:       ck.CKR_KEY_FUNCTION_NOT_PERMITTED, // disabled or pending deletion
	kmsbackend.KindAccessDenied:   ck.CKR_DEVICE_ERROR,               // IAM refused, or no credentials
	kmsbackend.KindThrottled:      ck.CKR_DEVICE_ERROR,               // throttled after retries
	kmsbackend.KindUnavailable:    ck.CKR_DEVICE_ERROR,               // network, 5xx, deadline
	kmsbackend.KindInvalidRequest: ck.CKR_FUNCTION_FAILED,            // KMS refused what we sent
	kmsbackend.KindUnsupported:    ck.CKR_FUNCTION_NOT_SUPPORTED,     // the service lacks the operation
	kmsbackend.KindUnknown:        ck.CKR_FUNCTION_FAILED,

	kmsbackend.KindInvalidCiphertext: ck.CKR_ENCRYPTED_DATA_INVALID, // §5.9 C_Decrypt: not a ciphertext of this key
}

// deviceErrorBadSignature is the ulDeviceError reason code when KMS returned a
// signature that failed local verification (after the backend kinds 0..7).
const deviceErrorBadSignature = 100

// deviceErrorCode is the reason code stored in CK_SESSION_INFO.ulDeviceError
// after a failed remote call: the backend error kind (README lists them).
func deviceErrorCode(err error) uint {
	return uint(kmsbackend.KindOf(err))
}

// fromBackend turns a backend failure into the *Error the caller gets. A
// context cancellation by C_Finalize becomes CKR_CRYPTOKI_NOT_INITIALIZED.
func fromBackend(op string, err error) *Error {
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	rv, ok := backendRV[kmsbackend.KindOf(err)]
	if !ok {
		rv = ck.CKR_FUNCTION_FAILED
	}
	return Errorf(rv, "%s: %w", op, err)
}
