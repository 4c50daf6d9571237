package cabitest

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

var (
	ckTrue  = []byte{1}
	ckFalse = []byte{0}
)

// ulongBytes encodes a CK_ULONG attribute value (little-endian, 8 bytes here).
func ulongBytes(v uint) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// ecPointDER is CKA_EC_POINT as CLIENTS.md requires: DER OCTET STRING of 04||X||Y,
// each coordinate as long as the field (SEC 1 §2.3.3).
func ecPointDER(t *testing.T, pub any) []byte {
	t.Helper()
	var point []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var err error
		point, err = k.Bytes()
		require.NoError(t, err)
	case *secp256k1.PublicKey:
		point = k.SerializeUncompressed()
	default:
		t.Fatalf("not an EC key: %T", pub)
	}
	der, err := asn1.Marshal(point)
	require.NoError(t, err)
	return der
}

// TestAttributesKeyValues reads each key's attributes with exact expectations:
// public values equal the dev KMS's GetPublicKey (PKCS#11 2.40 §4.8, §4.9;
// Mechanisms §2.1.2-3, §2.3.3-4).
func TestAttributesKeyValues(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	for _, k := range fixtures {
		t.Run(k.name, func(t *testing.T) {
			priv, pub := keyObjects(t, p, sh, k)
			common := map[uint][]byte{
				ck.CKA_TOKEN:    ckTrue,
				ck.CKA_KEY_TYPE: ulongBytes(k.keyType),
				ck.CKA_LABEL:    []byte(k.label()),
			}
			wantPub := map[uint][]byte{ck.CKA_CLASS: ulongBytes(ck.CKO_PUBLIC_KEY), ck.CKA_VERIFY: ckTrue,
				ck.CKA_PRIVATE: ckFalse, ck.CKA_PUBLIC_KEY_INFO: k.spki}
			wantPriv := map[uint][]byte{ck.CKA_CLASS: ulongBytes(ck.CKO_PRIVATE_KEY), ck.CKA_SIGN: ckTrue,
				ck.CKA_SENSITIVE: ckTrue, ck.CKA_EXTRACTABLE: ckFalse, ck.CKA_ALWAYS_SENSITIVE: ckTrue,
				ck.CKA_NEVER_EXTRACTABLE: ckTrue, ck.CKA_PRIVATE: ckFalse /* no PIN configured */}
			switch pk := k.pub.(type) {
			case *rsa.PublicKey:
				for _, m := range []map[uint][]byte{wantPub, wantPriv} {
					m[ck.CKA_MODULUS] = pk.N.Bytes()
					m[ck.CKA_PUBLIC_EXPONENT] = big.NewInt(int64(pk.E)).Bytes()
				}
				wantPub[ck.CKA_MODULUS_BITS] = ulongBytes(uint(k.bits))
			default:
				params, err := asn1.Marshal(k.curveOID)
				require.NoError(t, err)
				wantPub[ck.CKA_EC_PARAMS], wantPriv[ck.CKA_EC_PARAMS] = params, params
				wantPub[ck.CKA_EC_POINT] = ecPointDER(t, pk)
			}
			for obj, want := range map[pkcs11.ObjectHandle]map[uint][]byte{pub: wantPub, priv: wantPriv} {
				for typ, v := range common {
					want[typ] = v
				}
				for typ, v := range want {
					assert.Equal(t, v, attr(t, p, sh, obj, typ), "attribute %#x of object class %x", typ, want[ck.CKA_CLASS])
				}
			}
		})
	}
}

// TestAttributesGetAttributeValueCases covers PKCS#11 2.40 §5.7
// C_GetAttributeValue, cases 1-5, one call at a time and several in one call.
func TestAttributesGetAttributeValueCases(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	rsaPriv, rsaPub := keyObjects(t, p, sh, fixture("RSA2048"))
	ecPriv, _ := keyObjects(t, p, sh, fixture("P256"))
	modulus := fixture("RSA2048").pub.(*rsa.PublicKey).N.Bytes()
	label := []byte(fixture("RSA2048").label())
	const unavailable = ck.UnavailableInformation
	const vendorAttr = ck.CKA_VENDOR_DEFINED | 0x4242

	cases := []struct {
		name string
		oh   pkcs11.ObjectHandle
		reqs []rawc.AttrReq
		rvs  []uint // acceptable CK_RVs: several only where §5.7 lets the token choose
		want []rawc.AttrResult
	}{
		{"CKR_OK with the length for a NULL pValue", rsaPub,
			[]rawc.AttrReq{{Type: ck.CKA_MODULUS}}, []uint{ck.CKR_OK},
			[]rawc.AttrResult{{Len: uint(len(modulus))}}},
		{"CKR_OK with the value for an exact buffer", rsaPub,
			[]rawc.AttrReq{{Type: ck.CKA_MODULUS, Buf: true, BufLen: uint(len(modulus))}}, []uint{ck.CKR_OK},
			[]rawc.AttrResult{{Len: uint(len(modulus)), Value: modulus}}},
		{"CKR_OK with the value for a larger buffer", rsaPub,
			[]rawc.AttrReq{{Type: ck.CKA_LABEL, Buf: true, BufLen: 100}}, []uint{ck.CKR_OK},
			[]rawc.AttrResult{{Len: uint(len(label)), Value: label}}},
		{"CKR_BUFFER_TOO_SMALL with CK_UNAVAILABLE_INFORMATION for a short buffer", rsaPub,
			[]rawc.AttrReq{{Type: ck.CKA_MODULUS, Buf: true, BufLen: uint(len(modulus) - 1)}}, []uint{ck.CKR_BUFFER_TOO_SMALL},
			[]rawc.AttrResult{{Len: unavailable, Value: nil}}},
		{"CKR_ATTRIBUTE_TYPE_INVALID for a vendor attribute", rsaPub,
			[]rawc.AttrReq{{Type: vendorAttr, Buf: true, BufLen: 16}}, []uint{ck.CKR_ATTRIBUTE_TYPE_INVALID},
			[]rawc.AttrResult{{Len: unavailable, Value: nil}}},
		{"CKR_ATTRIBUTE_TYPE_INVALID for CKA_EC_POINT on an RSA key", rsaPub,
			[]rawc.AttrReq{{Type: ck.CKA_EC_POINT}}, []uint{ck.CKR_ATTRIBUTE_TYPE_INVALID},
			[]rawc.AttrResult{{Len: unavailable}}},
		{"CKR_ATTRIBUTE_SENSITIVE for CKA_PRIVATE_EXPONENT", rsaPriv,
			[]rawc.AttrReq{{Type: ck.CKA_PRIVATE_EXPONENT, Buf: true, BufLen: 512}}, []uint{ck.CKR_ATTRIBUTE_SENSITIVE},
			[]rawc.AttrResult{{Len: unavailable, Value: nil}}},
		{"CKR_ATTRIBUTE_SENSITIVE for CKA_PRIME_1 size query", rsaPriv,
			[]rawc.AttrReq{{Type: ck.CKA_PRIME_1}}, []uint{ck.CKR_ATTRIBUTE_SENSITIVE},
			[]rawc.AttrResult{{Len: unavailable}}},
		{"CKR_ATTRIBUTE_SENSITIVE for an EC private CKA_VALUE", ecPriv,
			[]rawc.AttrReq{{Type: ck.CKA_VALUE, Buf: true, BufLen: 66}}, []uint{ck.CKR_ATTRIBUTE_SENSITIVE},
			[]rawc.AttrResult{{Len: unavailable, Value: nil}}},
		{"every entry processed in one call", rsaPriv,
			[]rawc.AttrReq{
				{Type: ck.CKA_LABEL, Buf: true, BufLen: 64},
				{Type: ck.CKA_PRIVATE_EXPONENT, Buf: true, BufLen: 512},
				{Type: vendorAttr},
				{Type: ck.CKA_MODULUS},
				{Type: ck.CKA_KEY_TYPE, Buf: true, BufLen: 4},
				{Type: ck.CKA_SIGN, Buf: true, BufLen: 1},
			},
			[]uint{ck.CKR_ATTRIBUTE_SENSITIVE, ck.CKR_ATTRIBUTE_TYPE_INVALID, ck.CKR_BUFFER_TOO_SMALL},
			[]rawc.AttrResult{
				{Len: uint(len(label)), Value: label},
				{Len: unavailable, Value: nil},
				{Len: unavailable},
				{Len: uint(len(modulus))},
				{Len: unavailable, Value: nil},
				{Len: 1, Value: ckTrue},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, rv := r.GetAttributeValue(uint(sh), uint(c.oh), c.reqs)
			var names []string
			for _, want := range c.rvs {
				names = append(names, ck.RVName(want))
			}
			assert.Contains(t, names, ck.RVName(rv))
			// An unfilled buffer comes back as zero bytes from rawc; compare only what was written.
			for i := range got {
				if c.want[i].Len == unavailable && got[i].Value != nil {
					assert.Equal(t, make([]byte, len(got[i].Value)), got[i].Value, "entry %d: buffer must be untouched", i)
					got[i].Value = nil
				}
			}
			assert.Equal(t, c.want, got)
		})
	}
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.GetAttributeValueNullTemplate(uint(sh), uint(rsaPub), 1), "NULL template, count 1")
}

func TestAttributesObjectHandleInvalid(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	for _, oh := range []pkcs11.ObjectHandle{0, 0x7eadbeef} {
		_, err := p.GetAttributeValue(sh, oh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_LABEL, nil)})
		requireRV(t, ck.CKR_OBJECT_HANDLE_INVALID, err, "C_GetAttributeValue(object %#x)", oh)
		_, err = p.GetObjectSize(sh, oh)
		requireRV(t, ck.CKR_OBJECT_HANDLE_INVALID, err, "C_GetObjectSize(object %#x)", oh)
	}
	// A handle from before C_Finalize is invalid after re-initialization.
	_, pub := keyObjects(t, p, sh, fixture("P256"))
	requireRV(t, ck.CKR_OK, p.Finalize())
	requireRV(t, ck.CKR_OK, p.Initialize())
	sh = openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	_, err := p.GetAttributeValue(sh, pub, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_LABEL, nil)})
	requireRV(t, ck.CKR_OBJECT_HANDLE_INVALID, err, "an object handle of the previous initialization")
}
