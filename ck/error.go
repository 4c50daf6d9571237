package ck

import (
	"errors"
	"fmt"
)

// Error is the project's one error type that carries a CK_RV (token/ re-exports
// it as token.Error; mechanisms/ uses it too, which is why it lives here). It is created where the
// failure is detected and logged once, at the C boundary.
type Error struct {
	// RV is the PKCS#11 return value the caller receives.
	RV uint
	// Msg says what went wrong, for the log line.
	Msg string
	// Err is the underlying cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	name := RVName(e.RV)
	switch {
	case e.Msg != "": // Errorf's Msg already holds the wrapped cause's text
		return name + ": " + e.Msg
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", name, e.Err)
	}
	return name
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the CK_RV and a formatted message. A %w verb
// in format wraps the cause as fmt.Errorf does.
func Errorf(rv uint, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{RV: rv, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// RV returns the CK_RV for err: CKR_OK for nil, the carried value for an
// *Error anywhere in the chain, CKR_FUNCTION_FAILED for anything else.
func RV(err error) uint {
	if err == nil {
		return CKR_OK
	}
	var te *Error
	if errors.As(err, &te) {
		return te.RV
	}
	return CKR_FUNCTION_FAILED
}
