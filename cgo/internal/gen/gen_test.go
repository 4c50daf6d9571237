package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []Func
		wantErr string
	}{
		{
			name: "two functions parsed with comments dropped",
			src: "/* C_A does a. */\nCK_PKCS11_FUNCTION_INFO(C_A)\n#ifdef CK_NEED_ARG_LIST\n(\n  CK_ULONG x, /* the x\n * spanning lines */\n  CK_BYTE_PTR pY\n);\n#endif\n\n" +
				"CK_PKCS11_FUNCTION_INFO(C_B)\n#ifdef CK_NEED_ARG_LIST\n(\n  CK_SESSION_HANDLE hSession\n);\n#endif\n",
			want: []Func{
				{Name: "C_A", Params: []Param{{"CK_ULONG", "x"}, {"CK_BYTE_PTR", "pY"}}},
				{Name: "C_B", Params: []Param{{"CK_SESSION_HANDLE", "hSession"}}},
			},
		},
		{
			name:    "error when the argument list guard is missing",
			src:     "CK_PKCS11_FUNCTION_INFO(C_A)\n(\n  CK_ULONG x\n);\n",
			wantErr: "C_A: no #ifdef CK_NEED_ARG_LIST",
		},
		{
			name:    "error when an argument is not TYPE NAME",
			src:     "CK_PKCS11_FUNCTION_INFO(C_A)\n#ifdef CK_NEED_ARG_LIST\n(\n  const CK_ULONG x\n);\n#endif\n",
			wantErr: `argument "const CK_ULONG x" is not "TYPE NAME"`,
		},
		{
			name:    "error when #endif is missing",
			src:     "CK_PKCS11_FUNCTION_INFO(C_A)\n#ifdef CK_NEED_ARG_LIST\n(\n  CK_ULONG x\n);\n",
			wantErr: "C_A: no #endif",
		},
		{
			name:    "error when the X-macro line is malformed",
			src:     "CK_PKCS11_FUNCTION_INFO( C_A )\n",
			wantErr: "malformed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.src)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// realFuncs parses the module's two headers.
func realFuncs(t *testing.T) []Func {
	t.Helper()
	var funcs []Func
	for _, h := range headers {
		b, err := os.ReadFile(filepath.Join("..", "..", h))
		require.NoError(t, err)
		fs, err := ParseHeader(string(b))
		require.NoError(t, err, h)
		funcs = append(funcs, fs...)
	}
	return funcs
}

func TestPlan(t *testing.T) {
	funcs := realFuncs(t)
	tests := []struct {
		name    string
		funcs   []Func
		exports []string
		wantErr string
	}{
		{"error when a function is missing", funcs[1:], nil, "headers declare 91 functions, want 92"},
		{"error when a name repeats", append(slices.Clone(funcs[:91]), funcs[0]), nil, "C_Initialize declared twice"},
		{"error when an export names no PKCS#11 function", funcs, []string{"C_Frobnicate"}, "no such PKCS#11 function"},
		{"error when an export replaces a pure-C function", funcs, []string{"C_GetInterface"}, "C_GetInterface is implemented in C"},
		{"error when an export replaces a legacy function", funcs, []string{"C_CancelFunction"}, "C_CancelFunction is implemented in C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.funcs, tt.exports)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	t.Run("kinds follow the exports and the fixed table", func(t *testing.T) {
		entries, err := Plan(funcs, []string{"C_Sign", "C_Initialize"})
		require.NoError(t, err)
		kinds := map[string]Kind{}
		for _, e := range entries {
			kinds[e.Name] = e.Kind
		}
		want := map[string]Kind{
			"C_Sign": KindGo, "C_Initialize": KindGo,
			"C_GetFunctionList": KindPureC, "C_GetInterfaceList": KindPureC, "C_GetInterface": KindPureC,
			"C_GetFunctionStatus": KindNotParallel, "C_CancelFunction": KindNotParallel,
			"C_Verify": KindNotSupported, "C_MessageVerifyFinal": KindNotSupported,
		}
		for name, k := range want {
			assert.Equal(t, k, kinds[name], name)
		}
		assert.Len(t, kinds, 92)
	})
}

func TestEmitEntries(t *testing.T) {
	entries, err := Plan(realFuncs(t), []string{"C_Sign"})
	require.NoError(t, err)
	out := EmitEntries(entries)
	tests := []struct {
		name string
		want string
	}{
		{"Go function guarded then calling its export",
			"CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen) {\n" +
				"  if (p11kms_forked_child()) return CKR_GENERAL_ERROR;\n" +
				"  return p11kms_C_Sign(hSession, pData, ulDataLen, pSignature, pulSignatureLen);\n}\n"},
		{"pure-C function unguarded",
			"CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {\n" +
				"  return p11kms_c_GetFunctionList(ppFunctionList);\n}\n"},
		{"legacy function guarded then CKR_FUNCTION_NOT_PARALLEL",
			"CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession) {\n" +
				"  if (p11kms_forked_child()) return CKR_GENERAL_ERROR;\n" +
				"  return CKR_FUNCTION_NOT_PARALLEL;\n}\n"},
		{"unimplemented function guarded then CKR_FUNCTION_NOT_SUPPORTED",
			"CK_RV C_Initialize(CK_VOID_PTR pInitArgs) {\n" +
				"  if (p11kms_forked_child()) return CKR_GENERAL_ERROR;\n" +
				"  return CKR_FUNCTION_NOT_SUPPORTED;\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Contains(t, out, tt.want)
		})
	}
	assert.Equal(t, 92, strings.Count(out, "\nCK_RV C_"), "one definition per function")
}

func TestCommittedFilesAreUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..")
	exports, err := ScanExports(dir)
	require.NoError(t, err)
	entries, err := Plan(realFuncs(t), exports)
	require.NoError(t, err)
	for name, want := range map[string]string{"zentry.c": EmitEntries(entries), "zexports.h": EmitExports(entries)} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), "%s is stale: run `go generate ./cgo`", name)
	}
}
