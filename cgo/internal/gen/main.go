// Command gen writes cgo/zentry.c (every PKCS#11 entry point of the module) and
// cgo/zexports.h (the prototypes of the Go exports they call) from the OASIS
// pkcs11f.h and the project's p11kms_v3f.h, and from the "//export p11kms_C_*"
// lines of cgo/*.go: adding an implementation is one Go function plus
// `go generate ./cgo`. Run from cgo/: gen [DIR].
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
)

// headers are read in this order: the 2.40 functions, then the 3.0 additions
// (CK_FUNCTION_LIST_3_0 order, PKCS#11 3.0 §3.6).
var headers = []string{"include/oasis/pkcs11f.h", "include/p11kms_v3f.h"}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

// run generates the two files into dir.
func run(dir string) error {
	var funcs []Func
	for _, h := range headers {
		src, err := os.ReadFile(filepath.Join(dir, h))
		if err != nil {
			return err
		}
		fs, err := ParseHeader(string(src))
		if err != nil {
			return fmt.Errorf("%s: %w", h, err)
		}
		funcs = append(funcs, fs...)
	}
	exports, err := ScanExports(dir)
	if err != nil {
		return err
	}
	entries, err := Plan(funcs, exports)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "zexports.h"), []byte(EmitExports(entries)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "zentry.c"), []byte(EmitEntries(entries)), 0o644)
}
