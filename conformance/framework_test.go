package conformance

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the framework itself (not the module); they register no check.

func TestFrameworkSummarize(t *testing.T) {
	cs := []checkResult{
		{Client: "a", Operation: "sign: k1", Outcome: Pass},
		{Client: "a", Operation: "sign: k2", Outcome: Fail},
		{Client: "b", Operation: "list", Outcome: Skip, Reason: "r"},
		{Client: "c", Operation: "list", Outcome: Pass},
		{Client: "c", Operation: "export: k1", Outcome: Skip, Reason: "r"},
	}
	got := summarize(cs, func(c string) string { return "v-" + c })
	want := []clientSummary{
		{"a", "v-a", "sign (k1, k2)", "**FAIL** 1 of 2"},
		{"b", "v-b", "list", "skipped (1)"},
		{"c", "v-c", "list; export (k1)", "pass 1/2, 1 skipped"},
	}
	require.Equal(t, want, got)
	p, f, s := counts(cs)
	require.Equal(t, [3]int{2, 1, 2}, [3]int{p, f, s})
	var b strings.Builder
	printSummary(&b, cs)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Equal(t, "2 passed, 1 failed, 2 skipped", lines[len(lines)-1])
	require.Contains(t, lines, "SKIP b: list: r")
	md := string(renderCompat(cs, "lib.so", func(string) string { return "v|1" }, time.Unix(0, 0)))
	require.Contains(t, md, compatBegin+"\n| Client | Version | Operations | Result |\n|---|---|---|---|\n| a | v\\|1 | sign (k1, k2) | **FAIL** 1 of 2 |\n")
	require.Contains(t, md, "| b | list | skip: r |\n")
}

func TestFrameworkShellQuote(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain word stays bare", "pkcs11-tool", "pkcs11-tool"},
		{"key=value stays bare", "OPENSSL_CONF=/tmp/x.cnf", "OPENSSL_CONF=/tmp/x.cnf"},
		{"semicolons get quoted", "pkcs11:token=t;object=k", "'pkcs11:token=t;object=k'"},
		{"single quote is escaped", "it's", `'it'\''s'`},
		{"empty string is quoted", "", "''"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, shellQuote(tc.in)) })
	}
}

func TestFrameworkKeyEncodings(t *testing.T) {
	for _, k := range env.Keys {
		t.Run("SPKI equals Go's encoding: "+k.Name, func(t *testing.T) {
			if ec, ok := k.Public.(*ecdsa.PublicKey); ok && k.Curve().openssl == "secp256k1" {
				// Go's x509 refuses secp256k1: check the point and curve OID instead.
				assert.Contains(t, hex.EncodeToString(k.PubDER), hex.EncodeToString(ecPoint(ec, 32)))
				assert.Contains(t, hex.EncodeToString(k.PubDER), "06052b8104000a")
				return
			}
			want, err := x509.MarshalPKIXPublicKey(k.Public)
			require.NoError(t, err)
			require.Equal(t, want, k.PubDER)
		})
	}
	tests := []struct {
		name    string
		raw     string
		wantDER string
		wantErr bool
	}{
		{"leading zero halves become short INTEGERs", "00010002", "3006020101020102", false},
		{"high bit gets a sign byte", "80ff", "3008020200800202" + "00ff", false},
		{"odd length is refused", "010203", "", true},
	}
	for _, tc := range tests {
		t.Run("ecRawToDER: "+tc.name, func(t *testing.T) {
			raw, _ := hex.DecodeString(tc.raw)
			der, err := ecRawToDER(raw)
			if tc.wantErr {
				require.EqualError(t, err, "raw ECDSA signature of odd length 3")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantDER, hex.EncodeToString(der))
		})
	}
}
