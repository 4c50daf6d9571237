package main

/*
#include <stdlib.h>
*/
import "C"

import "unsafe"

// A Go c-shared library's runtime takes its environment from the block the
// process started with (argv+argc+1), not from the C library's current
// environ: a variable the host sets with setenv() before dlopen or
// C_Initialize (P11KMS_CONFIG from a test harness, a wrapper or a plugin
// host) is invisible to os.Getenv. The token therefore reads its own
// variables through getenv(3), the host's live environment.
func init() { mod.Getenv = cGetenv }

// cGetenv returns the value of name in the C library's current environment,
// "" if unset. The C string is copied at once and never retained.
func cGetenv(name string) string {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	v := C.getenv(cname)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}
