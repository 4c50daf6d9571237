package kmsbackend

import (
	"errors"
	"fmt"
)

// ErrorKind classifies a backend failure; token/ maps each kind to a CK_RV in one table.
type ErrorKind int

// The error kinds a backend reports.
const (
	KindUnknown           ErrorKind = iota // anything not classified below
	KindNotFound                           // the key or alias does not exist
	KindDisabled                           // the key is disabled, pending deletion or unavailable
	KindAccessDenied                       // credentials lack permission, or none were found
	KindThrottled                          // the service throttled the call (after retries)
	KindUnavailable                        // transport failure, 5xx, or deadline exceeded (after retries)
	KindInvalidRequest                     // the service refused the request's content (wrong algorithm, bad input)
	KindUnsupported                        // the service does not implement the operation
	KindInvalidCiphertext                  // Decrypt: the ciphertext is not one the key made (AWS InvalidCiphertextException)
)

var kindNames = [...]string{"unknown", "not-found", "disabled", "access-denied", "throttled", "unavailable", "invalid-request", "unsupported", "invalid-ciphertext"}

// String returns the kind's short name, used in log lines.
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) && k >= 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a classified backend failure.
type Error struct {
	Kind ErrorKind
	// Op is the service operation, e.g. "Sign".
	Op string
	// Code is the service's error code when it gave one (e.g. "ThrottlingException").
	Code string
	Err  error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("kms %s: %s (%s): %v", e.Op, e.Kind, e.Code, e.Err)
	}
	return fmt.Sprintf("kms %s: %s: %v", e.Op, e.Kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a backend error anywhere in err's chain, KindUnknown otherwise.
func KindOf(err error) ErrorKind {
	var be *Error
	if errors.As(err, &be) {
		return be.Kind
	}
	return KindUnknown
}
