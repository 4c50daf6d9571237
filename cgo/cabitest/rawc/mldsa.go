package rawc

/*
#include <stdlib.h>
#include <string.h>
#include "rawc.h"
*/
import "C"

import "unsafe"

// SignAdditionalContext is a CK_SIGN_ADDITIONAL_CONTEXT (PKCS#11 3.2
// ml_dsa.md) whose context lives in C memory, for tests that pass it as
// mechanism parameter bytes (github.com/miekg/pkcs11 copies the bytes, and
// the pointer inside them stays valid until Free).
type SignAdditionalContext struct {
	// Bytes is the structure as the platform lays it out.
	Bytes []byte
	ctx   unsafe.Pointer
}

// NewSignAdditionalContext builds the structure: hedgeVariant hedge,
// pContext a C copy of ctx (NULL when ctx is nil), ulContextLen ctxLen (which
// may differ from len(ctx) to test bad arguments).
func NewSignAdditionalContext(hedge uint, ctx []byte, ctxLen uint) *SignAdditionalContext {
	var s C.CK_SIGN_ADDITIONAL_CONTEXT
	out := &SignAdditionalContext{}
	s.hedgeVariant = C.CK_HEDGE_TYPE(hedge)
	s.ulContextLen = C.CK_ULONG(ctxLen)
	if ctx != nil {
		out.ctx = unsafe.Pointer(cBytes(ctx))
		s.pContext = C.CK_BYTE_PTR(out.ctx)
	}
	out.Bytes = C.GoBytes(unsafe.Pointer(&s), C.sizeof_CK_SIGN_ADDITIONAL_CONTEXT)
	return out
}

// Free releases the C copy of the context.
func (s *SignAdditionalContext) Free() {
	if s.ctx != nil {
		C.free(s.ctx)
		s.ctx = nil
	}
}
