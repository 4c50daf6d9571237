package token

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// objNativeULong returns the bytes a C unsigned long holding v has in memory,
// read straight from memory: the reference encodeULong must reproduce.
func objNativeULong(v uint) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v))...)
}

func TestObjectEncodeULong(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    uint
	}{
		{"zero encodes as all zero bytes", 0},
		{"CKO_PRIVATE_KEY encodes natively", ck.CKO_PRIVATE_KEY},
		{"multi-byte value keeps native byte order", 0x0102},
		{"CK_UNAVAILABLE_INFORMATION encodes as all ones", ck.UnavailableInformation},
		{"CKA_ALLOWED_MECHANISMS (array flag set) encodes natively", ck.CKA_ALLOWED_MECHANISMS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := encodeULong(tc.v)
			assert.Equal(t, objNativeULong(tc.v), got)
			assert.Len(t, got, int(unsafe.Sizeof(uint(0))))
		})
	}
}

func TestObjectEncodeULongAMD64Layout(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("layout literal is for amd64, running on %s (TestObjectEncodeULong covers every platform)", runtime.GOARCH)
	}
	assert.Equal(t, []byte{0x02, 0x01, 0, 0, 0, 0, 0, 0}, encodeULong(0x0102))
	assert.Equal(t, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, encodeULong(ck.UnavailableInformation))
}

func TestObjectEncodeULongs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []uint
		want []byte
	}{
		{"empty array encodes as empty value", nil, []byte{}},
		{"one element encodes as one CK_ULONG", []uint{ck.CKM_ECDSA}, objNativeULong(ck.CKM_ECDSA)},
		{"two elements concatenate in order", []uint{ck.CKM_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS},
			append(objNativeULong(ck.CKM_RSA_PKCS), objNativeULong(ck.CKM_SHA256_RSA_PKCS)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, encodeULongs(tc.in))
		})
	}
}

func TestObjectEncodeBool(t *testing.T) {
	assert.Equal(t, []byte{0x01}, encodeBool(true), "CK_TRUE is one byte 1")
	assert.Equal(t, []byte{0x00}, encodeBool(false), "CK_FALSE is one byte 0")
}

func TestObjectEncodeDate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Time
		want []byte
	}{
		{"UTC date gives YYYYMMDD", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), []byte("20251231")},
		{"local time east of UTC converts to the UTC date", time.Date(2024, 3, 1, 1, 30, 0, 0, time.FixedZone("+05", 5*3600)), []byte("20240229")},
		{"local time west of UTC converts to the UTC date", time.Date(2023, 12, 31, 22, 0, 0, 0, time.FixedZone("-03", -3*3600)), []byte("20240101")},
		{"single-digit month and day are zero-padded", time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), []byte("20240105")},
		{"zero time gives empty value", time.Time{}, []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, encodeDate(tc.in))
		})
	}
}

func TestObjectAttrAndSize(t *testing.T) {
	keys := objTestKeys(t)
	for _, k := range keys {
		priv, pubo := objMustBuild(t, k, objKeyInfo(k.spec, kmsbackend.UsageSignVerify, k.spki), true)
		for _, o := range []*object{priv, pubo} {
			t.Run(k.name+"/"+objClassName(o.class), func(t *testing.T) {
				// size is the sum of every revealable value's length, measured
				// through C_GetAttributeValue size queries.
				var want uint
				for typ := range o.attrs {
					r := []AttrRequest{{Type: typ}}
					if err := o.getAttributeValue(r); err == nil {
						want += r[0].Len
					} else {
						require.Equal(t, uint(ck.CKR_ATTRIBUTE_SENSITIVE), ck.RV(err))
					}
				}
				assert.Equal(t, want, o.size())
				assert.Greater(t, o.size(), uint(len(k.spki)), "size counts CKA_PUBLIC_KEY_INFO and more")

				v, ok := o.attr(ck.CKA_LABEL)
				assert.True(t, ok, "present attribute is found")
				assert.Equal(t, []byte("alpha"), v)
				v, ok = o.attr(ck.CKA_CERTIFICATE_TYPE)
				assert.False(t, ok, "absent attribute is not found")
				assert.Nil(t, v)
			})
		}
		t.Run(k.name+"/sensitive attribute is not revealed by attr", func(t *testing.T) {
			typ := ck.CKA_PRIVATE_EXPONENT
			if k.ec {
				typ = ck.CKA_VALUE
			}
			v, ok := priv.attr(uint(typ))
			assert.False(t, ok)
			assert.Nil(t, v)
		})
	}
}

// objClassName names an object class for subtest names.
func objClassName(class uint) string {
	if class == ck.CKO_PRIVATE_KEY {
		return "private"
	}
	return "public"
}

// TestObjectSensitiveValueNeverRevealed holds an object to the rule even if a
// value was stored for a sensitive type: attr, size, C_GetAttributeValue and
// template matching must all act as if it had none.
func TestObjectSensitiveValueNeverRevealed(t *testing.T) {
	secret := []byte("not to be revealed")
	o := &object{class: ck.CKO_PRIVATE_KEY,
		attrs:     map[uint][]byte{ck.CKA_VALUE: secret, ck.CKA_LABEL: []byte("k")},
		sensitive: map[uint]bool{ck.CKA_VALUE: true}}

	v, ok := o.attr(ck.CKA_VALUE)
	assert.False(t, ok, "attr hides the sensitive value")
	assert.Nil(t, v)
	assert.Equal(t, uint(1), o.size(), "size counts only the label")

	r := []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 64}}
	err := o.getAttributeValue(r)
	assert.Equal(t, uint(ck.CKR_ATTRIBUTE_SENSITIVE), ck.RV(err))
	assert.Equal(t, []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 64, Len: ck.UnavailableInformation}}, r)
	assert.False(t, o.matches([]Attribute{{Type: ck.CKA_VALUE, Value: secret}}), "a template cannot probe the value")
}
