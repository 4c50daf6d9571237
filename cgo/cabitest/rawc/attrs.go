package rawc

/*
#include <stdlib.h>
#include "rawc.h"
*/
import "C"

import "unsafe"

// AttrReq is one C_GetAttributeValue template entry to send.
type AttrReq struct {
	Type uint
	// Buf gives pValue a buffer of BufLen bytes; false sends pValue = NULL.
	Buf    bool
	BufLen uint
}

// AttrResult is what the library left in one template entry.
type AttrResult struct {
	// Len is ulValueLen after the call (ck.UnavailableInformation when unavailable).
	Len uint
	// Value is the first min(Len, BufLen) bytes of the buffer, nil without a buffer.
	Value []byte
}

// GetAttributeValue makes one C_GetAttributeValue call with a template built
// in C memory from reqs (PKCS#11 2.40 §5.7). It returns every entry as the
// library left it, whatever the CK_RV.
func (l *Lib) GetAttributeValue(sh, oh uint, reqs []AttrReq) ([]AttrResult, uint) {
	n := len(reqs)
	tmpl := (*[1 << 20]C.CK_ATTRIBUTE)(C.calloc(C.size_t(n+1), C.sizeof_CK_ATTRIBUTE))[: n+1 : n+1]
	defer C.free(unsafe.Pointer(&tmpl[0]))
	for i, r := range reqs {
		tmpl[i]._type = C.CK_ATTRIBUTE_TYPE(r.Type)
		tmpl[i].ulValueLen = C.CK_ULONG(r.BufLen)
		if r.Buf {
			p := C.calloc(1, C.size_t(r.BufLen+1))
			defer C.free(p)
			tmpl[i].pValue = C.CK_VOID_PTR(p)
		}
	}
	rv := uint(C.rawc_get_attribute_value(l.c.fl, C.CK_SESSION_HANDLE(sh), C.CK_OBJECT_HANDLE(oh), &tmpl[0], C.CK_ULONG(n)))
	out := make([]AttrResult, n)
	for i, r := range reqs {
		out[i].Len = uint(tmpl[i].ulValueLen)
		if r.Buf {
			m := min(out[i].Len, r.BufLen)
			out[i].Value = C.GoBytes(unsafe.Pointer(tmpl[i].pValue), C.int(m))
		}
	}
	return out, rv
}

// GetAttributeValueNullTemplate calls C_GetAttributeValue(sh, oh, NULL, count).
func (l *Lib) GetAttributeValueNullTemplate(sh, oh, count uint) uint {
	return uint(C.rawc_get_attribute_value(l.c.fl, C.CK_SESSION_HANDLE(sh), C.CK_OBJECT_HANDLE(oh), nil, C.CK_ULONG(count)))
}

// FindObjectsInitNullTemplate calls C_FindObjectsInit(sh, NULL, count).
func (l *Lib) FindObjectsInitNullTemplate(sh, count uint) uint {
	return uint(C.rawc_find_objects_init(l.c.fl, C.CK_SESSION_HANDLE(sh), nil, C.CK_ULONG(count)))
}

// FindObjects calls C_FindObjects once. nullList passes phObject = NULL and
// nullCount passes pulObjectCount = NULL. It returns the handles written.
func (l *Lib) FindObjects(sh, max uint, nullList, nullCount bool) ([]uint, uint) {
	buf := make([]C.CK_OBJECT_HANDLE, max+1)
	var p C.CK_OBJECT_HANDLE_PTR
	if !nullList {
		p = &buf[0]
	}
	count := C.CK_ULONG(0)
	pc := &count
	if nullCount {
		pc = nil
	}
	rv := uint(C.rawc_find_objects(l.c.fl, C.CK_SESSION_HANDLE(sh), p, C.CK_ULONG(max), pc))
	var out []uint
	for i := 0; i < int(count) && i < int(max) && !nullList; i++ {
		out = append(out, uint(buf[i]))
	}
	return out, rv
}
