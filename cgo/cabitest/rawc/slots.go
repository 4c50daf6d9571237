package rawc

/*
#include "rawc.h"
*/
import "C"

import "unsafe"

// SlotListNullCount calls C_GetSlotList with pulCount = NULL.
func (l *Lib) SlotListNullCount(tokenPresent bool) uint {
	return uint(C.rawc_get_slot_list(l.c.fl, ckBool(tokenPresent), nil, nil))
}

// SlotList calls C_GetSlotList once: with pSlotList = NULL when capacity < 0,
// else with a buffer of capacity entries. It returns the slots written, the
// count the library reported and the CK_RV.
func (l *Lib) SlotList(tokenPresent bool, capacity int) ([]uint, uint, uint) {
	count := C.CK_ULONG(0)
	var buf []C.CK_SLOT_ID
	var p C.CK_SLOT_ID_PTR
	if capacity >= 0 {
		buf = make([]C.CK_SLOT_ID, capacity+1) // +1: never a zero-length slice
		p = &buf[0]
		count = C.CK_ULONG(capacity)
	}
	rv := uint(C.rawc_get_slot_list(l.c.fl, ckBool(tokenPresent), p, &count))
	var out []uint
	if p != nil && rv == 0 {
		for i := 0; i < int(count) && i < capacity; i++ {
			out = append(out, uint(buf[i]))
		}
	}
	return out, uint(count), rv
}

// SlotInfoNull calls C_GetSlotInfo(slot, NULL).
func (l *Lib) SlotInfoNull(slot uint) uint {
	return uint(C.rawc_get_slot_info(l.c.fl, C.CK_SLOT_ID(slot), nil))
}

// TokenInfoNull calls C_GetTokenInfo(slot, NULL).
func (l *Lib) TokenInfoNull(slot uint) uint {
	return uint(C.rawc_get_token_info(l.c.fl, C.CK_SLOT_ID(slot), nil))
}

// MechanismListNullCount calls C_GetMechanismList(slot, NULL, NULL).
func (l *Lib) MechanismListNullCount(slot uint) uint {
	return uint(C.rawc_get_mechanism_list(l.c.fl, C.CK_SLOT_ID(slot), nil, nil))
}

// MechanismList calls C_GetMechanismList once with a buffer of capacity
// entries (pMechanismList = NULL when capacity < 0); see SlotList.
func (l *Lib) MechanismList(slot uint, capacity int) ([]uint, uint, uint) {
	count := C.CK_ULONG(0)
	var buf []C.CK_MECHANISM_TYPE
	var p C.CK_MECHANISM_TYPE_PTR
	if capacity >= 0 {
		buf = make([]C.CK_MECHANISM_TYPE, capacity+1)
		p = &buf[0]
		count = C.CK_ULONG(capacity)
	}
	rv := uint(C.rawc_get_mechanism_list(l.c.fl, C.CK_SLOT_ID(slot), p, &count))
	var out []uint
	if p != nil && rv == 0 {
		for i := 0; i < int(count) && i < capacity; i++ {
			out = append(out, uint(buf[i]))
		}
	}
	return out, uint(count), rv
}

// MechanismInfoNull calls C_GetMechanismInfo(slot, mech, NULL).
func (l *Lib) MechanismInfoNull(slot, mech uint) uint {
	return uint(C.rawc_get_mechanism_info(l.c.fl, C.CK_SLOT_ID(slot), C.CK_MECHANISM_TYPE(mech), nil))
}

// OpenSessionNull calls C_OpenSession with phSession = NULL.
func (l *Lib) OpenSessionNull(slot, flags uint) uint {
	return uint(C.rawc_open_session(l.c.fl, C.CK_SLOT_ID(slot), C.CK_FLAGS(flags), nil))
}

// SessionInfoNull calls C_GetSessionInfo(sh, NULL).
func (l *Lib) SessionInfoNull(sh uint) uint {
	return uint(C.rawc_get_session_info(l.c.fl, C.CK_SESSION_HANDLE(sh), nil))
}

// LoginNullPin calls C_Login(sh, CKU_USER, NULL, n).
func (l *Lib) LoginNullPin(sh, n uint) uint {
	return uint(C.rawc_login(l.c.fl, C.CK_SESSION_HANDLE(sh), C.CKU_USER, nil, C.CK_ULONG(n)))
}

// GenerateRandomNull calls C_GenerateRandom(sh, NULL, n).
func (l *Lib) GenerateRandomNull(sh, n uint) uint {
	return uint(C.rawc_generate_random(l.c.fl, C.CK_SESSION_HANDLE(sh), nil, C.CK_ULONG(n)))
}

func ckBool(b bool) C.CK_BBOOL {
	if b {
		return C.CK_TRUE
	}
	return C.CK_FALSE
}

// SlotRaw is CK_SLOT_INFO with its blank-padded text fields as raw bytes.
type SlotRaw struct {
	Description  [64]byte
	Manufacturer [32]byte
	Flags        uint
}

// SlotInfo calls C_GetSlotInfo and returns the raw text fields.
func (l *Lib) SlotInfo(slot uint) (SlotRaw, uint) {
	var ci C.CK_SLOT_INFO
	rv := uint(C.rawc_get_slot_info(l.c.fl, C.CK_SLOT_ID(slot), &ci))
	var s SlotRaw
	copy(s.Description[:], C.GoBytes(unsafe.Pointer(&ci.slotDescription[0]), 64))
	copy(s.Manufacturer[:], C.GoBytes(unsafe.Pointer(&ci.manufacturerID[0]), 32))
	s.Flags = uint(ci.flags)
	return s, rv
}

// TokenRaw is CK_TOKEN_INFO's blank-padded text fields as raw bytes, and its flags.
type TokenRaw struct {
	Label        [32]byte
	Manufacturer [32]byte
	Model        [16]byte
	SerialNumber [16]byte
	Flags        uint
	UTCTime      [16]byte
}

// TokenInfo calls C_GetTokenInfo and returns the raw text fields.
func (l *Lib) TokenInfo(slot uint) (TokenRaw, uint) {
	var ci C.CK_TOKEN_INFO
	rv := uint(C.rawc_get_token_info(l.c.fl, C.CK_SLOT_ID(slot), &ci))
	var t TokenRaw
	copy(t.Label[:], C.GoBytes(unsafe.Pointer(&ci.label[0]), 32))
	copy(t.Manufacturer[:], C.GoBytes(unsafe.Pointer(&ci.manufacturerID[0]), 32))
	copy(t.Model[:], C.GoBytes(unsafe.Pointer(&ci.model[0]), 16))
	copy(t.SerialNumber[:], C.GoBytes(unsafe.Pointer(&ci.serialNumber[0]), 16))
	copy(t.UTCTime[:], C.GoBytes(unsafe.Pointer(&ci.utcTime[0]), 16))
	t.Flags = uint(ci.flags)
	return t, rv
}
