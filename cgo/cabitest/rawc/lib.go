// Package rawc dlopens a PKCS#11 library and calls its entry points with the
// NULL pointers, bad lengths and mutex callbacks that github.com/miekg/pkcs11
// cannot express. It exists for the C-ABI tests in cgo/cabitest only; it lives
// under cgo/ because it imports "C". Every method returns the raw CK_RV.
package rawc

/*
#cgo CFLAGS: -I${SRCDIR}/../../include/oasis -I${SRCDIR}/../../include
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "rawc.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Lib is one dlopen'ed PKCS#11 library. dlopen of a path already loaded (for
// example by miekg/pkcs11) returns the same instance, so handles are shared.
type Lib struct {
	c *C.rawc_lib
}

// Version is a CK_VERSION.
type Version struct{ Major, Minor byte }

// Info is CK_INFO with the blank-padded fields kept as raw bytes.
type Info struct {
	CryptokiVersion Version
	Manufacturer    [32]byte
	Flags           uint
	Description     [32]byte
	LibraryVersion  Version
}

// InitArgs describes the C_Initialize call to make (PKCS#11 2.40 §5.4).
type InitArgs struct {
	// Null passes pInitArgs = NULL; the other fields are then ignored.
	Null bool
	// MutexFuncs sets the first n of CreateMutex, DestroyMutex, LockMutex, UnlockMutex (0..4).
	MutexFuncs int
	// Flags is CK_C_INITIALIZE_ARGS.flags.
	Flags uint
	// Reserved, when not empty, is passed as a NUL-terminated string in pReserved.
	Reserved string
}

// Open dlopens the library at path and reads its function list.
func Open(path string) (*Lib, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	l := &Lib{c: (*C.rawc_lib)(C.calloc(1, C.sizeof_rawc_lib))}
	if msg := C.rawc_open(cpath, l.c); msg != nil {
		err := errors.New("rawc: open " + path + ": " + C.GoString(msg))
		C.free(unsafe.Pointer(l.c))
		return nil, err
	}
	return l, nil
}

// HasInterfaceAPI reports whether the library exports C_GetInterfaceList and C_GetInterface.
func (l *Lib) HasInterfaceAPI() bool {
	return l.c.get_interface_list != nil && l.c.get_interface != nil
}

// FunctionListVersion returns the version field of C_GetFunctionList's list.
func (l *Lib) FunctionListVersion() Version { return goVersion(l.c.fl.version) }

// GetFunctionListNull calls C_GetFunctionList(NULL).
func (l *Lib) GetFunctionListNull() uint { return uint(C.rawc_get_function_list_null(l.c)) }

// Initialize calls C_Initialize as a describes.
func (l *Lib) Initialize(a InitArgs) uint {
	var reserved *C.char
	if a.Reserved != "" {
		reserved = C.CString(a.Reserved)
		// Freed only after C_Finalize in real clients; the module must not retain it,
		// so freeing it right after the call also checks that.
		defer C.free(unsafe.Pointer(reserved))
	}
	return uint(C.rawc_initialize(l.c.fl, cbool(a.Null), C.int(a.MutexFuncs), C.CK_FLAGS(a.Flags), reserved))
}

// Finalize calls C_Finalize(NULL).
func (l *Lib) Finalize() uint { return uint(C.rawc_finalize(l.c.fl, 0)) }

// FinalizeReserved calls C_Finalize with a non-NULL pReserved.
func (l *Lib) FinalizeReserved() uint { return uint(C.rawc_finalize(l.c.fl, 1)) }

// GetInfo calls C_GetInfo through the C_GetFunctionList list.
func (l *Lib) GetInfo() (Info, uint) { return getInfo(l.c.fl) }

// GetInfoNull calls C_GetInfo(NULL).
func (l *Lib) GetInfoNull() uint { return uint(C.rawc_get_info(l.c.fl, nil)) }

func getInfo(fl C.CK_FUNCTION_LIST_PTR) (Info, uint) {
	var ci C.CK_INFO
	rv := uint(C.rawc_get_info(fl, &ci))
	return goInfo(&ci), rv
}

func goInfo(ci *C.CK_INFO) Info {
	var in Info
	in.CryptokiVersion = goVersion(ci.cryptokiVersion)
	in.Flags = uint(ci.flags)
	in.LibraryVersion = goVersion(ci.libraryVersion)
	copy(in.Manufacturer[:], C.GoBytes(unsafe.Pointer(&ci.manufacturerID[0]), 32))
	copy(in.Description[:], C.GoBytes(unsafe.Pointer(&ci.libraryDescription[0]), 32))
	return in
}

func goVersion(v C.CK_VERSION) Version { return Version{byte(v.major), byte(v.minor)} }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// bytesPtr returns a pointer to b's first byte, or NULL for an empty slice.
func bytesPtr(b []byte) C.CK_BYTE_PTR {
	if len(b) == 0 {
		return nil
	}
	return (C.CK_BYTE_PTR)(unsafe.Pointer(&b[0]))
}
