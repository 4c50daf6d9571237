package main

/*
#include "p11kms.h"
*/
import "C"

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/token"
)

// recoverPanic is deferred first by every export: a Go panic must never reach
// the host (it would kill it). A recovered panic is logged with its stack at
// error level and the call returns CKR_GENERAL_ERROR (PKCS#11 2.40 §5.1.1:
// the module's state may be inconsistent).
func recoverPanic(fn string, rv *C.CK_RV) {
	r := recover()
	if r == nil {
		return
	}
	*rv = C.CKR_GENERAL_ERROR
	panicLogger().Error("panic recovered at the C boundary", "fn", fn, "rv", "CKR_GENERAL_ERROR",
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// panicLogger returns the module's logger when the token offers one
// (Logger() *slog.Logger), else the default logger; never nil, never panics.
func panicLogger() (l *slog.Logger) {
	defer func() {
		if recover() != nil || l == nil {
			l = slog.Default()
		}
	}()
	if m, ok := any(mod).(interface{ Logger() *slog.Logger }); ok {
		return m.Logger()
	}
	return slog.Default()
}

// done logs the outcome of a call once and returns its CK_RV.
func done(fn string, err error) C.CK_RV {
	mod.LogResult(fn, err)
	return C.CK_RV(token.RV(err))
}

// argsBad is the CKR_ARGUMENTS_BAD error for a bad C argument (PKCS#11 2.40
// §5.1.1: "a function was called with a bad set of arguments").
func argsBad(format string, args ...any) error {
	return ck.Errorf(ck.CKR_ARGUMENTS_BAD, format, args...)
}

// ckBool converts a CK_BBOOL.
func ckBool(b C.CK_BBOOL) bool { return b != C.CK_FALSE }
