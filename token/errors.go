// Package token is the pure-Go heart of the module: lifecycle, slots and
// tokens, sessions, login, objects and attributes, find cursors and the one
// active operation per session. It knows nothing of C; cgo/ translates.
package token

import "github.com/p11kms/p11kms/ck"

// Error is the error type that carries a CK_RV (defined in ck so that
// mechanisms/ can create it too).
type Error = ck.Error

// Errorf returns an *Error with the CK_RV and a formatted message.
func Errorf(rv uint, format string, args ...any) *Error { return ck.Errorf(rv, format, args...) }

// RV returns the CK_RV carried by err (CKR_OK for nil, CKR_FUNCTION_FAILED if none).
func RV(err error) uint { return ck.RV(err) }
