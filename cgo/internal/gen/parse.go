package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Param is one argument of a PKCS#11 function, as written in the header.
type Param struct {
	Type string // e.g. "CK_BYTE_PTR"
	Name string // e.g. "pData"
}

// Func is one PKCS#11 function parsed from an X-macro header.
type Func struct {
	Name   string // e.g. "C_Sign"
	Params []Param
}

var (
	infoLine    = regexp.MustCompile(`^CK_PKCS11_FUNCTION_INFO\((C_[A-Za-z0-9_]+)\)\s*$`)
	comment     = regexp.MustCompile(`(?s)/\*.*?\*/`)
	identifier  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	exportGoDoc = regexp.MustCompile(`(?m)^//export p11kms_(C_[A-Za-z0-9_]+)\s*$`)
)

// ParseHeader parses an OASIS pkcs11f.h-format header: each function is a line
// "CK_PKCS11_FUNCTION_INFO(name)" followed by "#ifdef CK_NEED_ARG_LIST",
// "( type name, ... );" and "#endif". Comments are ignored.
func ParseHeader(src string) ([]Func, error) {
	text := comment.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n")) // keep line numbers
	})
	lines := strings.Split(text, "\n")
	var funcs []Func
	for i := 0; i < len(lines); i++ {
		m := infoLine.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			if strings.Contains(lines[i], "CK_PKCS11_FUNCTION_INFO") {
				return nil, fmt.Errorf("line %d: malformed %q", i+1, strings.TrimSpace(lines[i]))
			}
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j >= len(lines) || strings.TrimSpace(lines[j]) != "#ifdef CK_NEED_ARG_LIST" {
			return nil, fmt.Errorf("line %d: %s: no #ifdef CK_NEED_ARG_LIST after it", i+1, m[1])
		}
		var body strings.Builder
		k := j + 1
		for ; k < len(lines) && strings.TrimSpace(lines[k]) != "#endif"; k++ {
			body.WriteString(lines[k])
			body.WriteByte(' ')
		}
		if k >= len(lines) {
			return nil, fmt.Errorf("line %d: %s: no #endif", i+1, m[1])
		}
		params, err := parseArgList(body.String())
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, m[1], err)
		}
		funcs = append(funcs, Func{Name: m[1], Params: params})
		i = k
	}
	return funcs, nil
}

// parseArgList parses "( type name, type name );".
func parseArgList(s string) ([]Param, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ");") {
		return nil, fmt.Errorf("argument list %q is not \"( ... );\"", s)
	}
	inner := strings.TrimSpace(s[1 : len(s)-2])
	if inner == "" {
		return nil, fmt.Errorf("empty argument list")
	}
	var params []Param
	for _, p := range strings.Split(inner, ",") {
		f := strings.Fields(p)
		if len(f) != 2 || !identifier.MatchString(f[0]) || !identifier.MatchString(f[1]) {
			return nil, fmt.Errorf("argument %q is not \"TYPE NAME\"", strings.TrimSpace(p))
		}
		params = append(params, Param{Type: f[0], Name: f[1]})
	}
	return params, nil
}

// ScanExports returns the names of the C functions implemented in Go: every
// "//export p11kms_C_X" line of the .go files (tests excluded) in dir.
func ScanExports(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range exportGoDoc.FindAllStringSubmatch(string(b), -1) {
			if seen[m[1]] {
				return nil, fmt.Errorf("%s: p11kms_%s exported twice", f, m[1])
			}
			seen[m[1]] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
