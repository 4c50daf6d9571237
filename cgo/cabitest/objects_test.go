package cabitest

import (
	"encoding/hex"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// TestObjectsFindAll: each KMS key is one CKO_PRIVATE_KEY and one
// CKO_PUBLIC_KEY with the same non-empty CKA_ID and CKA_LABEL = the alias
// without "alias/" (DESIGN.md, Objects).
func TestObjectsFindAll(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	all := findAll(t, p, sh, nil)
	require.Len(t, all, 2*len(fixtures), "objects in the token")
	type pair struct{ priv, pub int }
	byLabel := map[string]*pair{}
	idOf := map[string]string{}
	seen := map[pkcs11.ObjectHandle]bool{}
	for _, oh := range all {
		require.False(t, seen[oh], "handle %d listed twice", oh)
		seen[oh] = true
		label := string(attr(t, p, sh, oh, ck.CKA_LABEL))
		id := attr(t, p, sh, oh, ck.CKA_ID)
		require.NotEmpty(t, id, "CKA_ID of %q", label)
		if prev, ok := idOf[label]; ok {
			assert.Equal(t, prev, hex.EncodeToString(id), "CKA_ID of both objects of %q", label)
		}
		idOf[label] = hex.EncodeToString(id)
		if byLabel[label] == nil {
			byLabel[label] = &pair{}
		}
		switch c := ulong(t, attr(t, p, sh, oh, ck.CKA_CLASS)); c {
		case ck.CKO_PRIVATE_KEY:
			byLabel[label].priv++
		case ck.CKO_PUBLIC_KEY:
			byLabel[label].pub++
		default:
			t.Errorf("object %q has class %#x", label, c)
		}
	}
	want := map[string]*pair{}
	for _, k := range fixtures {
		want[k.label()] = &pair{1, 1}
	}
	assert.Equal(t, want, byLabel, "one private and one public key per KMS key, by label")
	ids := map[string]bool{}
	for _, id := range idOf {
		ids[id] = true
	}
	assert.Len(t, ids, len(fixtures), "CKA_IDs are distinct between keys")
}

func TestObjectsFindByTemplate(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	rsa := fixture("RSA4096")
	_, pub := keyObjects(t, p, sh, rsa)
	rsaID := attr(t, p, sh, pub, ck.CKA_ID)
	nRSA, nEC := 0, 0
	for _, k := range fixtures {
		if k.keyType == ck.CKK_RSA {
			nRSA++
		} else {
			nEC++
		}
	}
	a := pkcs11.NewAttribute
	cases := []struct {
		name string
		tmpl []*pkcs11.Attribute
		want int
	}{
		{"every private key by class", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}, len(fixtures)},
		{"every public key by class", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY)}, len(fixtures)},
		{"no certificate", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_CERTIFICATE)}, 0},
		{"no secret key", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_SECRET_KEY)}, 0},
		{"both objects by CKA_ID", []*pkcs11.Attribute{a(ck.CKA_ID, rsaID)}, 2},
		{"the private key by CKA_ID and class", []*pkcs11.Attribute{a(ck.CKA_ID, rsaID), a(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}, 1},
		{"both objects by label", []*pkcs11.Attribute{a(ck.CKA_LABEL, "CartorioDigitalRAIZ")}, 2},
		{"nothing by the alias with its prefix", []*pkcs11.Attribute{a(ck.CKA_LABEL, "alias/CartorioDigitalRAIZ")}, 0},
		{"nothing by a label prefix", []*pkcs11.Attribute{a(ck.CKA_LABEL, "Cartorio")}, 0},
		{"RSA keys by key type", []*pkcs11.Attribute{a(ck.CKA_KEY_TYPE, ck.CKK_RSA)}, 2 * nRSA},
		{"EC keys by key type", []*pkcs11.Attribute{a(ck.CKA_KEY_TYPE, ck.CKK_EC)}, 2 * nEC},
		{"EC private keys by key type and class", []*pkcs11.Attribute{a(ck.CKA_KEY_TYPE, ck.CKK_EC), a(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}, nEC},
		{"signing keys by CKA_SIGN", []*pkcs11.Attribute{a(ck.CKA_SIGN, true)}, len(fixtures)},
		{"nothing by a contradiction", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY), a(ck.CKA_SIGN, true)}, 0},
		{"nothing by an unknown CKA_ID", []*pkcs11.Attribute{a(ck.CKA_ID, []byte{0xde, 0xad})}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Len(t, findAll(t, p, sh, c.tmpl), c.want)
		})
	}
}

// TestObjectsFindInChunks: C_FindObjects with ulMaxObjectCount 1 returns every
// object once, then 0 objects (PKCS#11 2.40 §5.7).
func TestObjectsFindInChunks(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, p.FindObjectsInit(sh, nil))
	seen := map[pkcs11.ObjectHandle]bool{}
	for range 2*len(fixtures) + 1 {
		hs, _, err := p.FindObjects(sh, 1)
		requireRV(t, ck.CKR_OK, err)
		if len(hs) == 0 {
			break
		}
		require.Len(t, hs, 1)
		require.False(t, seen[hs[0]], "handle returned twice")
		seen[hs[0]] = true
	}
	assert.Len(t, seen, 2*len(fixtures))
	hs, _, err := p.FindObjects(sh, 10)
	requireRV(t, ck.CKR_OK, err)
	assert.Empty(t, hs, "after the end")
	requireRV(t, ck.CKR_OK, p.FindObjectsFinal(sh))
}

func TestObjectsFindOperationState(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	_, _, err := p.FindObjects(sh, 1)
	requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, err, "C_FindObjects without C_FindObjectsInit")
	requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, p.FindObjectsFinal(sh), "C_FindObjectsFinal without C_FindObjectsInit")
	requireRV(t, ck.CKR_OK, p.FindObjectsInit(sh, nil))
	requireRV(t, ck.CKR_OPERATION_ACTIVE, p.FindObjectsInit(sh, nil), "second C_FindObjectsInit")
	requireRV(t, ck.CKR_OK, p.FindObjectsFinal(sh))
	requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, p.FindObjectsFinal(sh), "second C_FindObjectsFinal")

	_, r := lib(t)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.FindObjectsInitNullTemplate(uint(sh), 1), "C_FindObjectsInit(NULL, 1)")
	requireRV(t, ck.CKR_OK, p.FindObjectsInit(sh, nil))
	_, rv := r.FindObjects(uint(sh), 4, false, true)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, rv, "C_FindObjects(pulObjectCount=NULL)")
	_, rv = r.FindObjects(uint(sh), 4, true, false)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, rv, "C_FindObjects(phObject=NULL, 4)")
	hs, rv := r.FindObjects(uint(sh), 100, false, false)
	requireRawRV(t, ck.CKR_OK, rv, "the search survives bad arguments")
	assert.Len(t, hs, 2*len(fixtures))
	requireRV(t, ck.CKR_OK, p.FindObjectsFinal(sh))
}
