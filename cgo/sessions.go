package main

/*
#include "p11kms.h"
*/
import "C"

import "unsafe"

// p11kms_C_OpenSession implements C_OpenSession (PKCS#11 2.40 §5.6).
// pApplication and Notify are ignored: the module makes no callbacks.
//
//export p11kms_C_OpenSession
func p11kms_C_OpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession *C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_OpenSession", &rv)
	if phSession == nil {
		return done("C_OpenSession", argsBad("phSession is NULL"))
	}
	h, err := mod.OpenSession(uint(slotID), uint(flags))
	if err == nil {
		*phSession = C.CK_SESSION_HANDLE(h)
	}
	return done("C_OpenSession", err)
}

// p11kms_C_CloseSession implements C_CloseSession (PKCS#11 2.40 §5.6).
//
//export p11kms_C_CloseSession
func p11kms_C_CloseSession(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_CloseSession", &rv)
	return done("C_CloseSession", mod.CloseSession(uint(hSession)))
}

// p11kms_C_CloseAllSessions implements C_CloseAllSessions (PKCS#11 2.40 §5.6).
//
//export p11kms_C_CloseAllSessions
func p11kms_C_CloseAllSessions(slotID C.CK_SLOT_ID) (rv C.CK_RV) {
	defer recoverPanic("C_CloseAllSessions", &rv)
	return done("C_CloseAllSessions", mod.CloseAllSessions(uint(slotID)))
}

// p11kms_C_GetSessionInfo implements C_GetSessionInfo (PKCS#11 2.40 §5.6).
//
//export p11kms_C_GetSessionInfo
func p11kms_C_GetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo *C.CK_SESSION_INFO) (rv C.CK_RV) {
	defer recoverPanic("C_GetSessionInfo", &rv)
	if pInfo == nil {
		return done("C_GetSessionInfo", argsBad("pInfo is NULL"))
	}
	info, err := mod.SessionInfo(uint(hSession))
	if err != nil {
		return done("C_GetSessionInfo", err)
	}
	pInfo.slotID = C.CK_SLOT_ID(info.SlotID)
	pInfo.state = C.CK_STATE(info.State)
	pInfo.flags = C.CK_FLAGS(info.Flags)
	pInfo.ulDeviceError = C.CK_ULONG(info.DeviceError)
	return done("C_GetSessionInfo", nil)
}

// p11kms_C_Login implements C_Login (PKCS#11 2.40 §5.6). A NULL pPin with
// length 0 is passed as a nil PIN (protected authentication path); the Go copy
// of the PIN is wiped after the call and never logged.
//
//export p11kms_C_Login
func p11kms_C_Login(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin *C.CK_UTF8CHAR, ulPinLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Login", &rv)
	pin, err := goBytes(unsafe.Pointer(pPin), ulPinLen, "pPin")
	if err != nil {
		return done("C_Login", err)
	}
	err = mod.Login(uint(hSession), uint(userType), pin)
	clear(pin)
	return done("C_Login", err)
}

// p11kms_C_Logout implements C_Logout (PKCS#11 2.40 §5.6).
//
//export p11kms_C_Logout
func p11kms_C_Logout(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_Logout", &rv)
	return done("C_Logout", mod.Logout(uint(hSession)))
}
