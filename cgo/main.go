// Command cgo is libp11kms.so, the PKCS#11 module, built with
// -buildmode=c-shared (see the Makefile). It is the C ABI and nothing else:
// C owns the function tables, the entry points and the fork guard (tables.c,
// forkguard.c, the generated zentry.c); Go owns the logic. Each file of this
// package holds the Go exports of one function family; each export guards
// against panics, checks the C arguments, copies them into Go values, makes
// one call into the token (package token) and copies the results back.
package main

/*
#cgo CFLAGS: -I${SRCDIR} -I${SRCDIR}/include -I${SRCDIR}/include/oasis -Wall
#include "p11kms.h"
*/
import "C"

import "github.com/p11kms/p11kms/token"

//go:generate go run ./internal/gen

// mod is the module's whole state; every export calls into it.
var mod = token.New()

// main is never called: the package is built as a shared library.
func main() {}
