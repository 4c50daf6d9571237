package main

import "fmt"

// Kind says what a generated entry point does after the fork guard.
type Kind int

const (
	// KindGo calls the Go export p11kms_<Name>.
	KindGo Kind = iota
	// KindPureC calls the C implementation p11kms_c_<Name without "C_"> in
	// tables.c, with no fork guard: it only hands out static data.
	KindPureC
	// KindNotParallel returns CKR_FUNCTION_NOT_PARALLEL (PKCS#11 2.40 §5.16:
	// C_GetFunctionStatus and C_CancelFunction are legacy functions).
	KindNotParallel
	// KindNotSupported returns CKR_FUNCTION_NOT_SUPPORTED (PKCS#11 2.40 §5.1:
	// an unsupported function is a stub returning that value).
	KindNotSupported
)

// fixedKinds are the functions whose behaviour does not depend on Go exports.
// Each row: function, kind, source.
var fixedKinds = map[string]Kind{
	"C_GetFunctionList":   KindPureC,       // PKCS#11 2.40 §5.4; the static 2.40 list (tables.c)
	"C_GetInterfaceList":  KindPureC,       // PKCS#11 3.0 §5.4; the static interface list (tables.c)
	"C_GetInterface":      KindPureC,       // PKCS#11 3.0 §5.4; the static interface list (tables.c)
	"C_GetFunctionStatus": KindNotParallel, // PKCS#11 2.40 §5.16: legacy, returns CKR_FUNCTION_NOT_PARALLEL
	"C_CancelFunction":    KindNotParallel, // PKCS#11 2.40 §5.16: legacy, returns CKR_FUNCTION_NOT_PARALLEL
}

// WantFuncs is the number of PKCS#11 3.0 functions: 68 from 2.40 and 24 added.
const WantFuncs = 92

// Entry is one generated C entry point.
type Entry struct {
	Func
	Kind Kind
}

// Plan decides the kind of each function. It fails if the function count is
// not WantFuncs, a name repeats, or an export names an unknown function or one
// that must stay pure C.
func Plan(funcs []Func, exports []string) ([]Entry, error) {
	if len(funcs) != WantFuncs {
		return nil, fmt.Errorf("headers declare %d functions, want %d", len(funcs), WantFuncs)
	}
	byName := map[string]bool{}
	for _, f := range funcs {
		if byName[f.Name] {
			return nil, fmt.Errorf("%s declared twice", f.Name)
		}
		byName[f.Name] = true
	}
	for n := range fixedKinds {
		if !byName[n] {
			return nil, fmt.Errorf("%s missing from the headers", n)
		}
	}
	implemented := map[string]bool{}
	for _, n := range exports {
		if !byName[n] {
			return nil, fmt.Errorf("//export p11kms_%s: no such PKCS#11 function", n)
		}
		if _, fixed := fixedKinds[n]; fixed {
			return nil, fmt.Errorf("//export p11kms_%s: %s is implemented in C", n, n)
		}
		implemented[n] = true
	}
	entries := make([]Entry, len(funcs))
	for i, f := range funcs {
		k, fixed := fixedKinds[f.Name]
		switch {
		case fixed:
		case implemented[f.Name]:
			k = KindGo
		default:
			k = KindNotSupported
		}
		entries[i] = Entry{Func: f, Kind: k}
	}
	return entries, nil
}
