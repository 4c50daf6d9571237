package token

import (
	"crypto/ecdh"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// deriveP256 derives a generic secret with CKD_NULL from the P-256 agreement key.
func deriveP256(t *testing.T, m *Module, sh uint, tmpl ...Attribute) uint {
	t.Helper()
	base, _ := ecdhPair(t, m, sh, "t-ecdh-p256")
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	h, err := m.DeriveKey(sh, ecdhMech(ck.CKD_NULL, nil, k.PublicKey().Bytes()), base, tmpl)
	require.NoError(t, err)
	return h
}

func TestSessionObjectLifetime(t *testing.T) {
	m, _ := ecdhModule(t, "")
	a, b := openSession(t, m), openSession(t, m)
	label := Attribute{Type: ck.CKA_LABEL, Value: []byte("lifetime")}
	h := deriveP256(t, m, a, label)
	o, ok := m.objects.get(h)
	require.True(t, ok)
	value := o.attrs[ck.CKA_VALUE]

	// Every session of the token sees it, by class, key type and label.
	secret := Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_SECRET_KEY)}
	generic := Attribute{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_GENERIC_SECRET)}
	assert.Equal(t, []uint{h}, findAll(t, m, b, secret, generic, label))
	assert.Equal(t, []uint{h}, findAll(t, m, b, label))
	assert.Contains(t, findAll(t, m, b), h, "an empty template finds it among the key objects")
	assert.Equal(t, derivedValue(t, m, a, h), derivedValue(t, m, b, h))

	// Closing the session that made it destroys it and zeroes the value.
	require.NoError(t, m.CloseSession(a))
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rvOf(m.GetAttributeValue(b, h, []AttrRequest{{Type: ck.CKA_VALUE}})))
	assert.Equal(t, make([]byte, len(value)), value, "value zeroed")
	assert.Empty(t, findAll(t, m, b, label))
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rvOf(m.DestroyObject(b, h)))

	// C_CloseAllSessions destroys the objects of every session.
	c := openSession(t, m)
	h1, h2 := deriveP256(t, m, b), deriveP256(t, m, c)
	require.NoError(t, m.CloseAllSessions(0))
	d := openSession(t, m)
	for _, h := range []uint{h1, h2} {
		assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rvOf(m.GetAttributeValue(d, h, []AttrRequest{{Type: ck.CKA_CLASS}})))
	}
	assert.Empty(t, m.sessionObjects(m.slots[0]))

	// C_Finalize zeroes what is left.
	h3 := deriveP256(t, m, d)
	o3, _ := m.objects.get(h3)
	v3 := o3.attrs[ck.CKA_VALUE]
	require.NoError(t, m.Finalize())
	assert.Equal(t, make([]byte, len(v3)), v3, "value zeroed at C_Finalize")
}

func TestDestroyObject(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	other := openSession(t, m)
	kmsKey, _ := ecdhPair(t, m, sh, "t-ecdh-p256")
	h := deriveP256(t, m, sh)
	o, _ := m.objects.get(h)
	value := o.attrs[ck.CKA_VALUE]
	keep := deriveP256(t, m, sh, Attribute{Type: ck.CKA_DESTROYABLE, Value: encodeBool(false)})
	rows := []struct {
		name string
		sh   uint
		oh   uint
		rv   string
	}{
		{"a KMS key is refused: CKA_DESTROYABLE false, ACTION_PROHIBITED", sh, kmsKey, "CKR_ACTION_PROHIBITED"},
		{"CKA_DESTROYABLE false is ACTION_PROHIBITED", sh, keep, "CKR_ACTION_PROHIBITED"},
		{"another session destroys a derived key", other, h, "CKR_OK"},
		{"a destroyed key is OBJECT_HANDLE_INVALID", sh, h, "CKR_OBJECT_HANDLE_INVALID"},
		{"an unknown handle is OBJECT_HANDLE_INVALID", sh, 12345, "CKR_OBJECT_HANDLE_INVALID"},
		{"an unknown session is SESSION_HANDLE_INVALID", 999_999, keep, "CKR_SESSION_HANDLE_INVALID"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.rv, rvOf(m.DestroyObject(r.sh, r.oh)))
		})
	}
	assert.Equal(t, make([]byte, len(value)), value, "value zeroed")
	_, ok := m.objects.get(kmsKey)
	assert.True(t, ok, "the KMS key object is still there")
}

func TestDerivedKeySensitivity(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	bo := func(typ uint, v bool) Attribute { return Attribute{Type: typ, Value: encodeBool(v)} }
	rows := []struct {
		name                     string
		tmpl                     []Attribute
		valueRV                  string
		alwaysSens, neverExtract bool
	}{
		{"defaults: readable", nil, "CKR_OK", false, false},
		{"sensitive: hidden, always sensitive", []Attribute{bo(ck.CKA_SENSITIVE, true)}, "CKR_ATTRIBUTE_SENSITIVE", true, false},
		{"not extractable: hidden, never extractable", []Attribute{bo(ck.CKA_EXTRACTABLE, false)}, "CKR_ATTRIBUTE_SENSITIVE", false, true},
		{"both", []Attribute{bo(ck.CKA_SENSITIVE, true), bo(ck.CKA_EXTRACTABLE, false)}, "CKR_ATTRIBUTE_SENSITIVE", true, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h := deriveP256(t, m, sh, r.tmpl...)
			err := m.GetAttributeValue(sh, h, []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 100}})
			assert.Equal(t, r.valueRV, rvOf(err))
			assert.Equal(t, encodeBool(r.alwaysSens), attrValue(t, m, sh, h, ck.CKA_ALWAYS_SENSITIVE))
			assert.Equal(t, encodeBool(r.neverExtract), attrValue(t, m, sh, h, ck.CKA_NEVER_EXTRACTABLE))
			assert.Equal(t, encodeULong(32), attrValue(t, m, sh, h, ck.CKA_VALUE_LEN))
			if r.valueRV != "CKR_OK" {
				assert.Empty(t, findAll(t, m, sh, Attribute{Type: ck.CKA_VALUE, Value: make([]byte, 32)}), "a hidden value is not searchable")
			}
		})
	}
}

// TestDerivedKeysAreUsedByNoMechanism: a derived key is refused, never a crash.
func TestDerivedKeysAreUsedByNoMechanism(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	bo := func(typ uint, v bool) Attribute { return Attribute{Type: typ, Value: encodeBool(v)} }
	h := deriveP256(t, m, sh, bo(ck.CKA_SIGN, true), bo(ck.CKA_VERIFY, true), bo(ck.CKA_ENCRYPT, true), bo(ck.CKA_DECRYPT, true), bo(ck.CKA_DERIVE, true))
	assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.SignInit(sh, Mechanism{Type: ck.CKM_SHA256_HMAC}, h)))
	assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.VerifyInit(sh, Mechanism{Type: ck.CKM_SHA256_HMAC}, h)))
	assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.EncryptInit(sh, Mechanism{Type: mechanisms.CKM_P11KMS_KMS_BLOB}, h)))
	assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(m.EncryptInit(sh, Mechanism{Type: ck.CKM_RSA_PKCS_OAEP}, h)))
	assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.DecryptInit(sh, Mechanism{Type: mechanisms.CKM_P11KMS_KMS_BLOB}, h)))
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, err = m.DeriveKey(sh, ecdhMech(ck.CKD_NULL, nil, k.PublicKey().Bytes()), h, nil)
	assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(err), "a derived key is no base key")
}

func TestDeriveWithPIN(t *testing.T) {
	hash, err := hashPINWith("s3cret", 1000)
	require.NoError(t, err)
	m, _ := ecdhModule(t, "    pin: \""+hash+"\"\n")
	sh := openSession(t, m)
	require.NoError(t, m.Login(sh, ck.CKU_USER, []byte("s3cret")))
	base, _ := ecdhPair(t, m, sh, "t-ecdh-p256")
	private := deriveP256(t, m, sh)
	public := deriveP256(t, m, sh, Attribute{Type: ck.CKA_PRIVATE, Value: encodeBool(false)})
	assert.Equal(t, encodeBool(true), attrValue(t, m, sh, private, ck.CKA_PRIVATE), "private by default, as the base key")
	require.NoError(t, m.Logout(sh))
	assert.Equal(t, "CKR_OBJECT_HANDLE_INVALID", rvOf(m.GetAttributeValue(sh, private, []AttrRequest{{Type: ck.CKA_CLASS}})))
	assert.Equal(t, []uint{public}, findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_SECRET_KEY)}))
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, err = m.DeriveKey(sh, ecdhMech(ck.CKD_NULL, nil, k.PublicKey().Bytes()), base, nil)
	assert.Equal(t, "CKR_KEY_HANDLE_INVALID", rvOf(err), "the private base key is invisible after logout")
}

// TestSessionObjectsRaceWithClose derives on sessions while other
// goroutines close them: every derive ends in CKR_OK, CKR_SESSION_CLOSED
// or CKR_SESSION_HANDLE_INVALID, and once all sessions are closed no
// session object is left (run with -race).
func TestSessionObjectsRaceWithClose(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	base, _ := ecdhPair(t, m, sh, "t-ecdh-p256")
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	mech := ecdhMech(ck.CKD_NULL, nil, k.PublicKey().Bytes())
	const n = 8
	var wg sync.WaitGroup
	rvs := make(chan string, 4*n)
	reader, stop := openSession(t, m), make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // reads every secret key it finds while they are destroyed
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if m.FindObjectsInit(reader, []Attribute{{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_SECRET_KEY)}}) != nil {
				continue
			}
			hs, _ := m.FindObjects(reader, 100)
			_ = m.FindObjectsFinal(reader)
			for _, h := range hs {
				_ = m.GetAttributeValue(reader, h, []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 66}})
				_, _ = m.GetObjectSize(reader, h)
			}
		}
	}()
	for i := 0; i < n; i++ {
		s := openSession(t, m)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				_, err := m.DeriveKey(s, mech, base, nil)
				rvs <- rvOf(err)
			}
		}()
		go func() {
			defer wg.Done()
			_ = m.CloseSession(s)
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(rvs)
	for rv := range rvs {
		assert.Contains(t, []string{"CKR_OK", "CKR_SESSION_CLOSED", "CKR_SESSION_HANDLE_INVALID"}, rv)
	}
	require.NoError(t, m.CloseSession(sh))
	require.NoError(t, m.CloseSession(reader))
	assert.Empty(t, m.sessionObjects(m.slots[0]), "no derived key outlived its session")
}
