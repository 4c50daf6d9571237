package main

/*
#include "p11kms.h"
*/
import "C"

import "unsafe"

// p11kms_C_GetSlotList implements C_GetSlotList (PKCS#11 2.40 §5.5) with the
// §5.2 size-query convention.
//
//export p11kms_C_GetSlotList
func p11kms_C_GetSlotList(tokenPresent C.CK_BBOOL, pSlotList *C.CK_SLOT_ID, pulCount *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_GetSlotList", &rv)
	if pulCount == nil {
		return done("C_GetSlotList", argsBad("pulCount is NULL"))
	}
	list, err := mod.SlotList(ckBool(tokenPresent))
	if err != nil {
		return done("C_GetSlotList", err)
	}
	return done("C_GetSlotList", putULongs(list, (*C.CK_ULONG)(unsafe.Pointer(pSlotList)), pulCount))
}

// p11kms_C_GetSlotInfo implements C_GetSlotInfo (PKCS#11 2.40 §5.5).
//
//export p11kms_C_GetSlotInfo
func p11kms_C_GetSlotInfo(slotID C.CK_SLOT_ID, pInfo *C.CK_SLOT_INFO) (rv C.CK_RV) {
	defer recoverPanic("C_GetSlotInfo", &rv)
	if pInfo == nil {
		return done("C_GetSlotInfo", argsBad("pInfo is NULL"))
	}
	info, err := mod.SlotInfo(uint(slotID))
	if err != nil {
		return done("C_GetSlotInfo", err)
	}
	putPaddedUTF8(pInfo.slotDescription[:], info.Description)
	putPaddedUTF8(pInfo.manufacturerID[:], info.Manufacturer)
	pInfo.flags = C.CK_FLAGS(info.Flags)
	pInfo.hardwareVersion = ckVersion(info.HardwareVersion)
	pInfo.firmwareVersion = ckVersion(info.FirmwareVersion)
	return done("C_GetSlotInfo", nil)
}

// p11kms_C_GetTokenInfo implements C_GetTokenInfo (PKCS#11 2.40 §5.5).
//
//export p11kms_C_GetTokenInfo
func p11kms_C_GetTokenInfo(slotID C.CK_SLOT_ID, pInfo *C.CK_TOKEN_INFO) (rv C.CK_RV) {
	defer recoverPanic("C_GetTokenInfo", &rv)
	if pInfo == nil {
		return done("C_GetTokenInfo", argsBad("pInfo is NULL"))
	}
	t, err := mod.TokenInfo(uint(slotID))
	if err != nil {
		return done("C_GetTokenInfo", err)
	}
	putPaddedUTF8(pInfo.label[:], t.Label)
	putPaddedUTF8(pInfo.manufacturerID[:], t.Manufacturer)
	putPaddedUTF8(pInfo.model[:], t.Model)
	putPaddedChar(pInfo.serialNumber[:], t.SerialNumber)
	pInfo.flags = C.CK_FLAGS(t.Flags)
	pInfo.ulMaxSessionCount = C.CK_ULONG(t.MaxSessionCount)
	pInfo.ulSessionCount = C.CK_ULONG(t.SessionCount)
	pInfo.ulMaxRwSessionCount = C.CK_ULONG(t.MaxRwSessionCount)
	pInfo.ulRwSessionCount = C.CK_ULONG(t.RwSessionCount)
	pInfo.ulMaxPinLen = C.CK_ULONG(t.MaxPinLen)
	pInfo.ulMinPinLen = C.CK_ULONG(t.MinPinLen)
	pInfo.ulTotalPublicMemory = C.CK_ULONG(t.TotalPublicMemory)
	pInfo.ulFreePublicMemory = C.CK_ULONG(t.FreePublicMemory)
	pInfo.ulTotalPrivateMemory = C.CK_ULONG(t.TotalPrivateMemory)
	pInfo.ulFreePrivateMemory = C.CK_ULONG(t.FreePrivateMemory)
	pInfo.hardwareVersion = ckVersion(t.HardwareVersion)
	pInfo.firmwareVersion = ckVersion(t.FirmwareVersion)
	putPaddedChar(pInfo.utcTime[:], t.UTCTime)
	return done("C_GetTokenInfo", nil)
}

// p11kms_C_GetMechanismList implements C_GetMechanismList (PKCS#11 2.40 §5.5)
// with the §5.2 size-query convention.
//
//export p11kms_C_GetMechanismList
func p11kms_C_GetMechanismList(slotID C.CK_SLOT_ID, pMechanismList *C.CK_MECHANISM_TYPE, pulCount *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_GetMechanismList", &rv)
	if pulCount == nil {
		return done("C_GetMechanismList", argsBad("pulCount is NULL"))
	}
	list, err := mod.MechanismList(uint(slotID))
	if err != nil {
		return done("C_GetMechanismList", err)
	}
	return done("C_GetMechanismList", putULongs(list, (*C.CK_ULONG)(unsafe.Pointer(pMechanismList)), pulCount))
}

// p11kms_C_GetMechanismInfo implements C_GetMechanismInfo (PKCS#11 2.40 §5.5).
//
//export p11kms_C_GetMechanismInfo
func p11kms_C_GetMechanismInfo(slotID C.CK_SLOT_ID, mechType C.CK_MECHANISM_TYPE, pInfo *C.CK_MECHANISM_INFO) (rv C.CK_RV) {
	defer recoverPanic("C_GetMechanismInfo", &rv)
	if pInfo == nil {
		return done("C_GetMechanismInfo", argsBad("pInfo is NULL"))
	}
	info, err := mod.MechanismInfo(uint(slotID), uint(mechType))
	if err != nil {
		return done("C_GetMechanismInfo", err)
	}
	pInfo.ulMinKeySize = C.CK_ULONG(info.MinKeySize)
	pInfo.ulMaxKeySize = C.CK_ULONG(info.MaxKeySize)
	pInfo.flags = C.CK_FLAGS(info.Flags)
	return done("C_GetMechanismInfo", nil)
}
