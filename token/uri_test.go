package token

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

func uintPtr(v uint) *uint { return &v }

func TestParseURIAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want URI
	}{
		{"empty path gives the zero URI", "pkcs11:", URI{}},
		{"empty query gives the zero URI", "pkcs11:?", URI{}},
		{"empty value reads as absent", "pkcs11:object=;token=", URI{}},
		{"p11tool's key URI with every byte of id escaped",
			"pkcs11:model=AWS%20KMS;manufacturer=p11kms;serial=0123456789abcdef;token=devkms;id=%01%02%ff;object=my%20key;type=private",
			URI{Model: "AWS KMS", Manufacturer: "p11kms", Serial: "0123456789abcdef", Token: "devkms", ID: []byte{1, 2, 0xff}, Object: "my key", Type: "private"}},
		{"scheme, names and type values in any case", "PKCS11:TOKEN=T;Type=PUBLIC;Object=K", URI{Token: "T", Type: "public", Object: "K"}},
		{"pin-value in the query", "pkcs11:token=t;object=k?pin-value=1234", URI{Token: "t", Object: "k", PINValue: "1234"}},
		{"module-path with raw slashes and module-name", "pkcs11:?module-path=/usr/lib/p11kms.so&module-name=p11kms",
			URI{ModulePath: "/usr/lib/p11kms.so", ModuleName: "p11kms"}},
		{"pin-source with a raw pipe and question mark", "pkcs11:?pin-source=|/bin/pin?x", URI{PINSource: "|/bin/pin?x"}},
		{"raw & inside a path value", "pkcs11:object=a&b", URI{Object: "a&b"}},
		{"escaped semicolon and percent in a path value", "pkcs11:object=a%3Bb%25c", URI{Object: "a;b%c"}},
		{"lower-case escapes", "pkcs11:token=%c3%a9", URI{Token: "é"}},
		{"non-UTF-8 bytes kept as bytes", "pkcs11:token=%FF%00", URI{Token: "\xff\x00"}},
		{"unencoded space accepted as itself", "pkcs11:object=my key", URI{Object: "my key"}},
		{"library-version without minor is M.0", "pkcs11:library-version=1", URI{LibraryVersion: &Version{1, 0}}},
		{"library-version 2.40", "pkcs11:library-version=2.40;library-manufacturer=p11kms;library-description=p11kms%20PKCS%2311",
			URI{LibraryVersion: &Version{2, 40}, LibraryManufacturer: "p11kms", LibraryDescription: "p11kms PKCS#11"}},
		{"slot attributes", "pkcs11:slot-id=0;slot-description=s%201;slot-manufacturer=m",
			URI{SlotID: uintPtr(0), SlotDescription: "s 1", SlotManufacturer: "m"}},
		{"largest slot-id", "pkcs11:slot-id=18446744073709551615", URI{SlotID: uintPtr(^uint(0))}},
		{"slot-id with leading zeros", "pkcs11:slot-id=007", URI{SlotID: uintPtr(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseURIRefuses(t *testing.T) {
	const pin = "s3cr3t-PIN"
	for _, tc := range []struct {
		name, in, err string
	}{
		{"another scheme", "https:token=x", `pkcs11 URI: does not start with "pkcs11:"`},
		{"no colon", "pkcs11", `pkcs11 URI: does not start with "pkcs11:"`},
		{"unknown attribute", "pkcs11:colour=blue", `pkcs11 URI: unknown attribute "colour"`},
		{"vendor attribute", "pkcs11:x-vendor=1", `pkcs11 URI: unknown attribute "x-vendor"`},
		{"repeated attribute", "pkcs11:token=a;token=b", "pkcs11 URI: token given twice"},
		{"repeated attribute in another case", "pkcs11:token=a;TOKEN=b", "pkcs11 URI: token given twice"},
		{"pin-value in the path, value not echoed", "pkcs11:pin-value=" + pin, "pkcs11 URI: pin-value belongs in the query, not the path"},
		{"token in the query", "pkcs11:?token=a", "pkcs11 URI: token belongs in the path, not the query"},
		{"empty path attribute", "pkcs11:token=a;;object=b", "pkcs11 URI: path attribute 2 is not of the form name=value"},
		{"trailing semicolon", "pkcs11:token=a;", "pkcs11 URI: path attribute 2 is not of the form name=value"},
		{"attribute without =", "pkcs11:token", "pkcs11 URI: path attribute 1 is not of the form name=value"},
		{"attribute without a name", "pkcs11:=x", "pkcs11 URI: path attribute 1 is not of the form name=value"},
		{"empty query attribute", "pkcs11:?pin-value=1&", "pkcs11 URI: query attribute 2 is not of the form name=value"},
		{"truncated escape", "pkcs11:object=a%4", "pkcs11 URI: object: truncated %-escape"},
		{"lone percent", "pkcs11:object=%", "pkcs11 URI: object: truncated %-escape"},
		{"escape without hex digits", "pkcs11:object=%zz1", "pkcs11 URI: object: %-escape without two hexadecimal digits"},
		{"bad escape in pin-value, value not echoed", "pkcs11:?pin-value=" + pin + "%g0", "pkcs11 URI: pin-value: %-escape without two hexadecimal digits"},
		{"unknown type", "pkcs11:type=secret", "pkcs11 URI: type: not one of public, private, cert, secret-key, data"},
		{"negative slot-id", "pkcs11:slot-id=-1", "pkcs11 URI: slot-id: not a decimal number"},
		{"slot-id with a letter", "pkcs11:slot-id=1a", "pkcs11 URI: slot-id: not a decimal number"},
		{"slot-id beyond CK_ULONG", "pkcs11:slot-id=18446744073709551616", "pkcs11 URI: slot-id: number out of range (64 bits)"},
		{"library-version with a dot and no minor", "pkcs11:library-version=1.", "pkcs11 URI: library-version: not a version M or M.N of numbers 0 to 255"},
		{"library-version without major", "pkcs11:library-version=.1", "pkcs11 URI: library-version: not a version M or M.N of numbers 0 to 255"},
		{"library-version beyond a byte", "pkcs11:library-version=256.0", "pkcs11 URI: library-version: not a version M or M.N of numbers 0 to 255"},
		{"library-version with three parts", "pkcs11:library-version=1.2.3", "pkcs11 URI: library-version: not a version M or M.N of numbers 0 to 255"},
		{"pin-source with pin-value", "pkcs11:?pin-source=file:/p&pin-value=" + pin, "pkcs11 URI: pin-source and pin-value both given; give one"},
		{"longer than 64 KiB", "pkcs11:object=" + strings.Repeat("a", 64<<10), "pkcs11 URI: longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.in)
			require.EqualError(t, err, tc.err)
			assert.Equal(t, URI{}, got, "nothing half-parsed is returned")
			assert.NotContains(t, err.Error(), pin)
		})
	}
}

func TestURIString(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   URI
		want string
	}{
		{"zero URI is the bare scheme", URI{}, "pkcs11:"},
		{"key URI in library, slot, token, object order",
			URI{Type: "private", Object: "my key", ID: []byte{0xab, 0x01}, Token: "devkms", Serial: "0123", Manufacturer: "p11kms", Model: "AWS KMS",
				SlotID: uintPtr(3), LibraryVersion: &Version{0, 1}, LibraryManufacturer: "p11kms"},
			"pkcs11:library-manufacturer=p11kms;library-version=0.1;slot-id=3;model=AWS%20KMS;manufacturer=p11kms;serial=0123;token=devkms;id=%AB%01;object=my%20key;type=private"},
		{"id bytes that are letters are still escaped", URI{ID: []byte("ab")}, "pkcs11:id=%61%62"},
		{"path delimiters and non-ASCII escaped, & and res-avail kept",
			URI{Object: "a;b?c/d%e&f:[]@!$'()*+,=~é"}, "pkcs11:object=a%3Bb%3Fc%2Fd%25e&f:[]@!$'()*+,=~%C3%A9"},
		{"query keeps / ? | and escapes & ;",
			URI{ModulePath: "/usr/lib/x.so", PINSource: "|/bin/p?a&b;c"}, "pkcs11:?pin-source=|/bin/p?a%26b%3Bc&module-path=/usr/lib/x.so"},
		{"pin-value written by String", URI{Token: "t", PINValue: "12 34"}, "pkcs11:token=t?pin-value=12%2034"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.in.String())
			back, err := ParseURI(tc.want)
			require.NoError(t, err)
			assert.Equal(t, tc.in, back, "parsing the string gives the URI back")
		})
	}
}

func TestURIRedactedHidesOnlyThePIN(t *testing.T) {
	u := URI{Token: "t", Object: "k", PINValue: "s3cr3t", ModuleName: "p11kms"}
	assert.Equal(t, "pkcs11:token=t;object=k?pin-value=REDACTED&module-name=p11kms", u.Redacted())
	assert.Equal(t, "pkcs11:token=t", URI{Token: "t"}.Redacted(), "no pin-value, nothing added")
}

func TestURIClass(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		class uint
		ok    bool
	}{
		{"public", ck.CKO_PUBLIC_KEY, true},
		{"private", ck.CKO_PRIVATE_KEY, true},
		{"cert", ck.CKO_CERTIFICATE, true},
		{"secret-key", ck.CKO_SECRET_KEY, true},
		{"data", ck.CKO_DATA, true},
		{"", 0, false},
	} {
		t.Run("type="+tc.typ, func(t *testing.T) {
			c, ok := URI{Type: tc.typ}.Class()
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.class, c)
		})
	}
}
