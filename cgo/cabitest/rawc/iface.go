package rawc

/*
#include <stdlib.h>
#include "rawc.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Interface is one CK_INTERFACE (PKCS#11 3.0 §3.1) as the library returned it.
type Interface struct {
	Name  string
	Flags uint
	// Version is the version field of the interface's function list.
	Version Version
	c       C.CK_INTERFACE // copy; pFunctionList points into the library's static data
}

var errNoInterfaceAPI = errors.New("rawc: library does not export C_GetInterfaceList/C_GetInterface")

// InterfaceList calls C_GetInterfaceList once: pInterfacesList = NULL when
// capacity < 0, pulCount = NULL when nullCount. It returns the interfaces
// written, the reported count and the CK_RV.
func (l *Lib) InterfaceList(capacity int, nullCount bool) ([]Interface, uint, uint, error) {
	if !l.HasInterfaceAPI() {
		return nil, 0, 0, errNoInterfaceAPI
	}
	var list C.CK_INTERFACE_PTR
	if capacity >= 0 {
		list = (C.CK_INTERFACE_PTR)(C.calloc(C.size_t(capacity+1), C.sizeof_CK_INTERFACE))
		defer C.free(unsafe.Pointer(list))
	}
	count := (C.CK_ULONG_PTR)(C.calloc(1, C.sizeof_CK_ULONG))
	defer C.free(unsafe.Pointer(count))
	*count = C.CK_ULONG(max(capacity, 0))
	pc := count
	if nullCount {
		pc = nil
	}
	rv := uint(C.rawc_get_interface_list(l.c, list, pc))
	var out []Interface
	if list != nil && rv == 0 {
		arr := unsafe.Slice(list, capacity+1)
		for i := 0; i < int(*count) && i < capacity; i++ {
			out = append(out, goInterface(&arr[i]))
		}
	}
	return out, uint(*count), rv, nil
}

// GetInterface calls C_GetInterface. name and version may be nil (NULL);
// nullOut passes ppInterface = NULL.
func (l *Lib) GetInterface(name *string, version *Version, flags uint, nullOut bool) (Interface, uint, error) {
	if !l.HasInterfaceAPI() {
		return Interface{}, 0, errNoInterfaceAPI
	}
	var cname C.CK_UTF8CHAR_PTR
	if name != nil {
		cs := C.CString(*name)
		defer C.free(unsafe.Pointer(cs))
		cname = (C.CK_UTF8CHAR_PTR)(unsafe.Pointer(cs))
	}
	var cver *C.CK_VERSION
	if version != nil {
		cver = (*C.CK_VERSION)(C.calloc(1, C.sizeof_CK_VERSION))
		defer C.free(unsafe.Pointer(cver))
		cver.major, cver.minor = C.CK_BYTE(version.Major), C.CK_BYTE(version.Minor)
	}
	pp := (*C.CK_INTERFACE_PTR)(C.calloc(1, C.size_t(unsafe.Sizeof(C.CK_INTERFACE_PTR(nil)))))
	defer C.free(unsafe.Pointer(pp))
	ppArg := pp
	if nullOut {
		ppArg = nil
	}
	rv := uint(C.rawc_get_interface(l.c, cname, cver, ppArg, C.CK_FLAGS(flags)))
	if rv != 0 || *pp == nil {
		return Interface{}, rv, nil
	}
	return goInterface(*pp), rv, nil
}

// GetInfo calls C_GetInfo through this interface's function list.
func (i Interface) GetInfo() (Info, uint) {
	var ci C.CK_INFO
	c := i.c
	rv := uint(C.rawc_interface_get_info(&c, &ci))
	return goInfo(&ci), rv
}

func goInterface(ci *C.CK_INTERFACE) Interface {
	it := Interface{Flags: uint(ci.flags), c: *ci}
	if ci.pInterfaceName != nil {
		it.Name = C.GoString((*C.char)(unsafe.Pointer(ci.pInterfaceName)))
	}
	if ci.pFunctionList != nil {
		it.Version = goVersion(C.rawc_interface_version(ci))
	}
	return it
}
