package main

/*
#include "p11kms.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/p11kms/p11kms/ck"
)

// p11kms_C_GenerateRandom implements C_GenerateRandom (PKCS#11 2.40 §5.15).
//
//export p11kms_C_GenerateRandom
func p11kms_C_GenerateRandom(hSession C.CK_SESSION_HANDLE, pRandomData *C.CK_BYTE, ulRandomLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_GenerateRandom", &rv)
	if pRandomData == nil && ulRandomLen > 0 {
		return done("C_GenerateRandom", argsBad("pRandomData is NULL with length %d", uint(ulRandomLen)))
	}
	if uint64(ulRandomLen) > math.MaxInt {
		return done("C_GenerateRandom", argsBad("ulRandomLen %d is out of range", uint(ulRandomLen)))
	}
	n := int(ulRandomLen)
	out, err := mod.GenerateRandom(uint(hSession), n)
	if err != nil {
		return done("C_GenerateRandom", err)
	}
	if len(out) != n {
		return done("C_GenerateRandom", ck.Errorf(ck.CKR_GENERAL_ERROR, "token returned %d random bytes for %d", len(out), n))
	}
	putBytes(unsafe.Pointer(pRandomData), out)
	clear(out)
	return done("C_GenerateRandom", nil)
}

// p11kms_C_SeedRandom implements C_SeedRandom (PKCS#11 2.40 §5.15).
//
//export p11kms_C_SeedRandom
func p11kms_C_SeedRandom(hSession C.CK_SESSION_HANDLE, pSeed *C.CK_BYTE, ulSeedLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_SeedRandom", &rv)
	seed, err := goBytes(unsafe.Pointer(pSeed), ulSeedLen, "pSeed")
	if err != nil {
		return done("C_SeedRandom", err)
	}
	return done("C_SeedRandom", mod.SeedRandom(uint(hSession), seed))
}
