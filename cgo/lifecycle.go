package main

/*
#include <string.h>
#include "p11kms.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p11kms/p11kms/token"
)

// maxReserved bounds how far C_Initialize reads pReserved as a C string.
const maxReserved = 64 << 10

// initArgs reads CK_C_INITIALIZE_ARGS (PKCS#11 2.40 §3.6, §5.4 C_Initialize)
// into token.InitArgs; the token applies the rules (CKR_CANT_LOCK, partial
// callback sets). pReserved is read as a C string bounded by strnlen: NSS,
// libp11 and pkcs11-provider pass strings there.
func initArgs(p unsafe.Pointer) token.InitArgs {
	if p == nil {
		return token.InitArgs{}
	}
	a := (*C.CK_C_INITIALIZE_ARGS)(p)
	args := token.InitArgs{Present: true, Flags: uint(a.flags)}
	for _, f := range []bool{a.CreateMutex != nil, a.DestroyMutex != nil, a.LockMutex != nil, a.UnlockMutex != nil} {
		if f {
			args.MutexFuncs++
		}
	}
	if a.pReserved != nil {
		s := (*C.char)(a.pReserved)
		args.Reserved = C.GoStringN(s, C.int(C.strnlen(s, maxReserved)))
	}
	return args
}

// p11kms_C_Initialize implements C_Initialize (PKCS#11 2.40 §5.4).
//
//export p11kms_C_Initialize
func p11kms_C_Initialize(pInitArgs C.CK_VOID_PTR) (rv C.CK_RV) {
	defer recoverPanic("C_Initialize", &rv)
	return done("C_Initialize", mod.Initialize(initArgs(unsafe.Pointer(pInitArgs))))
}

// p11kms_C_Finalize implements C_Finalize (PKCS#11 2.40 §5.4): pReserved must
// be NULL (CKR_ARGUMENTS_BAD otherwise).
//
//export p11kms_C_Finalize
func p11kms_C_Finalize(pReserved C.CK_VOID_PTR) (rv C.CK_RV) {
	defer recoverPanic("C_Finalize", &rv)
	if pReserved != nil {
		return done("C_Finalize", argsBad("pReserved is not NULL"))
	}
	return done("C_Finalize", mod.Finalize())
}

// p11kms_C_GetInfo implements C_GetInfo (PKCS#11 2.40 §5.4) for the 2.40
// function list: cryptokiVersion 2.40. The 3.0 list's C_GetInfo (tables.c)
// calls this and then sets 3.0.
//
//export p11kms_C_GetInfo
func p11kms_C_GetInfo(pInfo *C.CK_INFO) (rv C.CK_RV) {
	defer recoverPanic("C_GetInfo", &rv)
	if pInfo == nil {
		return done("C_GetInfo", argsBad("pInfo is NULL"))
	}
	info, err := mod.Info()
	if err != nil {
		return done("C_GetInfo", err)
	}
	pInfo.cryptokiVersion = C.CK_VERSION{major: 2, minor: 40}
	putPaddedUTF8(pInfo.manufacturerID[:], info.Manufacturer)
	pInfo.flags = 0 // PKCS#11 2.40 §3.1: no flags are defined
	putPaddedUTF8(pInfo.libraryDescription[:], info.Description)
	pInfo.libraryVersion = ckVersion(info.LibraryVersion)
	return done("C_GetInfo", nil)
}
