package token

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

func TestFindObjectsGivesAKeyPairPerKMSKey(t *testing.T) {
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	all := findAll(t, m, sh)
	require.Len(t, all, 2*len(testKeys))
	for _, k := range testKeys {
		label := Attribute{Type: ck.CKA_LABEL, Value: []byte(k.alias)}
		privs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PRIVATE_KEY)})
		pubs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PUBLIC_KEY)})
		require.Len(t, privs, 1, k.alias)
		require.Len(t, pubs, 1, k.alias)
		id := attrValue(t, m, sh, privs[0], ck.CKA_ID)
		assert.Len(t, id, 16, "CKA_ID is the 16 bytes of the key id")
		assert.Equal(t, id, attrValue(t, m, sh, pubs[0], ck.CKA_ID), "the pair shares CKA_ID")
	}
	assert.Empty(t, findAll(t, m, sh, Attribute{Type: ck.CKA_LABEL, Value: []byte("no-such-key")}))
}

func TestFindObjectsStates(t *testing.T) {
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	_, err := m.FindObjects(sh, 1)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.FindObjectsFinal(sh)))
	require.NoError(t, m.FindObjectsInit(sh, nil))
	assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(m.FindObjectsInit(sh, nil)))
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(m.FindObjectsInit(sh+1, nil)))
}

// signCase is one key and mechanism with the input the caller gives.
type signCase struct {
	alias string
	mech  uint
	param []byte
	input func(msg []byte) []byte
}

func signCases() []signCase {
	id := func(b []byte) []byte { return b }
	sum := func(h crypto.Hash) func([]byte) []byte {
		return func(b []byte) []byte { x := h.New(); x.Write(b); return x.Sum(nil) }
	}
	di := func(h crypto.Hash) func([]byte) []byte { return func(b []byte) []byte { return digestInfo(h, b) } }
	pss := func(h crypto.Hash, hm, mgf uint) []byte {
		return mechanisms.EncodePSSParams(mechanisms.PSSParams{Hash: hm, MGF: mgf, SaltLen: uint(h.Size())})
	}
	cases := []signCase{
		{"t-rsa2048", ck.CKM_RSA_PKCS, nil, di(crypto.SHA256)},
		{"t-rsa2048", ck.CKM_RSA_PKCS, nil, di(crypto.SHA384)},
		{"t-rsa2048", ck.CKM_RSA_PKCS, nil, di(crypto.SHA512)},
		{"t-rsa2048", ck.CKM_SHA256_RSA_PKCS, nil, id},
		{"t-rsa2048", ck.CKM_SHA384_RSA_PKCS, nil, id},
		{"t-rsa2048", ck.CKM_SHA512_RSA_PKCS, nil, id},
		{"t-rsa2048", ck.CKM_RSA_PKCS_PSS, pss(crypto.SHA256, ck.CKM_SHA256, ck.CKG_MGF1_SHA256), sum(crypto.SHA256)},
		{"t-rsa2048", ck.CKM_RSA_PKCS_PSS, pss(crypto.SHA512, ck.CKM_SHA512, ck.CKG_MGF1_SHA512), sum(crypto.SHA512)},
		{"t-rsa2048", ck.CKM_SHA256_RSA_PKCS_PSS, pss(crypto.SHA256, ck.CKM_SHA256, ck.CKG_MGF1_SHA256), id},
		{"t-rsa2048", ck.CKM_SHA384_RSA_PKCS_PSS, pss(crypto.SHA384, ck.CKM_SHA384, ck.CKG_MGF1_SHA384), id},
		{"t-rsa2048", ck.CKM_SHA512_RSA_PKCS_PSS, pss(crypto.SHA512, ck.CKM_SHA512, ck.CKG_MGF1_SHA512), id},
	}
	for _, a := range []string{"t-p256", "t-p384", "t-p521", "t-k256"} {
		cases = append(cases,
			signCase{a, ck.CKM_ECDSA, nil, sum(crypto.SHA256)},
			signCase{a, ck.CKM_ECDSA, nil, sum(crypto.SHA384)},
			signCase{a, ck.CKM_ECDSA, nil, sum(crypto.SHA512)},
			signCase{a, ck.CKM_ECDSA_SHA256, nil, id},
			signCase{a, ck.CKM_ECDSA_SHA384, nil, id},
			signCase{a, ck.CKM_ECDSA_SHA512, nil, id},
		)
	}
	return cases
}

// rawMechanism marks the single-part mechanisms whose input is a digest.
var rawMechanism = map[uint]bool{ck.CKM_RSA_PKCS: true, ck.CKM_RSA_PKCS_PSS: true, ck.CKM_ECDSA: true}

// keyPair returns the private and public handles of the key with the alias.
func keyPair(t testing.TB, m *Module, sh uint, alias string) (priv, pub uint) {
	label := Attribute{Type: ck.CKA_LABEL, Value: []byte(alias)}
	privs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PRIVATE_KEY)})
	pubs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PUBLIC_KEY)})
	require.Len(t, privs, 1)
	require.Len(t, pubs, 1)
	return privs[0], pubs[0]
}

func TestSignEveryMechanismSingleAndMultiPart(t *testing.T) {
	const perCase = 6 // the C-ABI suite signs 1,000 per key type and mechanism; this covers the token logic
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	for _, c := range signCases() {
		t.Run(fmt.Sprintf("%s/%s/%d", c.alias, ck.MechName(c.mech), len(c.input([]byte("x")))), func(t *testing.T) {
			priv, pub := keyPair(t, m, sh, c.alias)
			spki := attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO)
			for i := 0; i < perCase; i++ {
				msg := []byte(fmt.Sprintf("message %d for %s", i, c.alias))
				in := c.input(msg)
				mech := Mechanism{Type: c.mech, Param: c.param}
				require.NoError(t, m.SignInit(sh, mech, priv))
				var sig []byte
				var err error
				multi := !rawMechanism[c.mech] && i%2 == 1 // hashing mechanisms: every other one multi-part
				if multi {
					require.NoError(t, m.SignUpdate(sh, in[:len(in)/2]))
					require.NoError(t, m.SignUpdate(sh, in[len(in)/2:]))
					sig, _, err = m.SignFinal(sh, false, 1024)
				} else {
					sig, _, err = m.Sign(sh, in, false, 1024)
				}
				require.NoError(t, err)
				require.NoError(t, independentVerify(spki, c.mech, in, sig), "signature %d (multi-part %v)", i, multi)
				require.NoError(t, m.VerifyInit(sh, mech, pub))
				require.NoError(t, m.Verify(sh, in, sig))
				bad := bytes.Clone(sig)
				bad[len(bad)/2] ^= 1
				require.NoError(t, m.VerifyInit(sh, mech, pub))
				assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, in, bad)))
			}
		})
	}
}

func TestSignSizeQueryAndShortBufferAreLocalAndKeepTheOperation(t *testing.T) {
	m, cb := testModule(t, "")
	sh := openSession(t, m)
	priv, pub := keyPair(t, m, sh, "t-p521")
	digest := sha256.Sum256([]byte("x"))
	require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_ECDSA}, priv))
	before := cb.signs.Load()
	sig, n, err := m.Sign(sh, digest[:], true, 0)
	require.NoError(t, err)
	assert.Nil(t, sig)
	assert.Equal(t, uint(132), n, "P-521 r||s is 2*66 bytes")
	sig, n, err = m.Sign(sh, digest[:], false, 131)
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	assert.Nil(t, sig)
	assert.Equal(t, uint(132), n)
	assert.Equal(t, before, cb.signs.Load(), "size query and short buffer make no remote call")
	sig, n, err = m.Sign(sh, digest[:], false, 132)
	require.NoError(t, err)
	assert.Len(t, sig, 132)
	assert.Equal(t, before+1, cb.signs.Load())
	spki := attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO)
	require.NoError(t, independentVerify(spki, ck.CKM_ECDSA, digest[:], sig))
	_, _, err = m.Sign(sh, digest[:], false, 132)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "a completed C_Sign ends the operation")
}

func TestSignRefusals(t *testing.T) {
	m, cb := testModule(t, "")
	sh := openSession(t, m)
	rsaPriv, rsaPub := keyPair(t, m, sh, "t-rsa2048")
	ecPriv, _ := keyPair(t, m, sh, "t-p256")
	pss := func(hm, mgf, salt uint) []byte {
		return mechanisms.EncodePSSParams(mechanisms.PSSParams{Hash: hm, MGF: mgf, SaltLen: salt})
	}
	d256 := sha256.Sum256([]byte("x"))
	tests := []struct {
		name   string
		key    uint
		mech   Mechanism
		input  []byte
		initRV string
		signRV string
	}{
		{"refused PSS salt differs from hash", rsaPriv, Mechanism{ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 222)}, d256[:], "CKR_MECHANISM_PARAM_INVALID", ""},
		{"refused PSS MGF differs from hash", rsaPriv, Mechanism{ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA1, 32)}, d256[:], "CKR_MECHANISM_PARAM_INVALID", ""},
		{"refused PSS without parameters", rsaPriv, Mechanism{ck.CKM_RSA_PKCS_PSS, nil}, d256[:], "CKR_MECHANISM_PARAM_INVALID", ""},
		{"refused SHA256 PSS with SHA-384 parameters", rsaPriv, Mechanism{ck.CKM_SHA256_RSA_PKCS_PSS, pss(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 48)}, []byte("x"), "CKR_MECHANISM_PARAM_INVALID", ""},
		{"refused RSA mechanism on EC key", ecPriv, Mechanism{ck.CKM_SHA256_RSA_PKCS, nil}, []byte("x"), "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"refused ECDSA on RSA key", rsaPriv, Mechanism{ck.CKM_ECDSA, nil}, d256[:], "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"refused unknown mechanism", rsaPriv, Mechanism{ck.CKM_MD5_RSA_PKCS, nil}, []byte("x"), "CKR_MECHANISM_INVALID", ""},
		{"refused public key for signing", rsaPub, Mechanism{ck.CKM_SHA256_RSA_PKCS, nil}, []byte("x"), "CKR_KEY_FUNCTION_NOT_PERMITTED", ""},
		{"refused unknown key handle", 77, Mechanism{ck.CKM_SHA256_RSA_PKCS, nil}, []byte("x"), "CKR_KEY_HANDLE_INVALID", ""},
		{"refused SHA-1 DigestInfo", rsaPriv, Mechanism{ck.CKM_RSA_PKCS, nil}, digestInfo(crypto.SHA1, []byte("x")), "CKR_OK", "CKR_DATA_INVALID"},
		{"refused garbage for RSA_PKCS", rsaPriv, Mechanism{ck.CKM_RSA_PKCS, nil}, []byte("not a DigestInfo"), "CKR_OK", "CKR_DATA_INVALID"},
		{"refused PSS input not the hash length", rsaPriv, Mechanism{ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32)}, d256[:20], "CKR_OK", "CKR_DATA_LEN_RANGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cb.signs.Load()
			err := m.SignInit(sh, tt.mech, tt.key)
			require.Equal(t, tt.initRV, rvOf(err))
			if err != nil {
				return
			}
			_, _, err = m.Sign(sh, tt.input, false, 1024)
			assert.Equal(t, tt.signRV, rvOf(err))
			assert.Equal(t, before, cb.signs.Load(), "refused before any remote call")
			_, _, err = m.Sign(sh, tt.input, false, 1024)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "an error ends the operation")
		})
	}
}

func TestLoginWithPIN(t *testing.T) {
	hash, err := hashPINWith("s3cret", 1000)
	require.NoError(t, err)
	m, _ := testModule(t, "    pin: \""+hash+"\"\n    max_pin_attempts: 3\n")
	sh := openSession(t, m)
	info, err := m.TokenInfo(0)
	require.NoError(t, err)
	assert.NotZero(t, info.Flags&ck.CKF_LOGIN_REQUIRED)
	pubOnly := findAll(t, m, sh)
	assert.Len(t, pubOnly, len(testKeys), "only public keys before login")
	assert.Equal(t, "CKR_PIN_INCORRECT", rvOf(m.Login(sh, ck.CKU_USER, []byte("wrong"))))
	assert.Equal(t, "CKR_USER_NOT_LOGGED_IN", rvOf(m.Logout(sh)))
	require.NoError(t, m.Login(sh, ck.CKU_USER, []byte("s3cret")))
	assert.Equal(t, "CKR_USER_ALREADY_LOGGED_IN", rvOf(m.Login(sh, ck.CKU_USER, []byte("s3cret"))))
	si, err := m.SessionInfo(sh)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_USER_FUNCTIONS), si.State)
	assert.Len(t, findAll(t, m, sh), 2*len(testKeys), "private keys visible after login")
	require.NoError(t, m.Logout(sh))
	for i := 0; i < 2; i++ {
		assert.Equal(t, "CKR_PIN_INCORRECT", rvOf(m.Login(sh, ck.CKU_USER, []byte("nope"))))
	}
	assert.Equal(t, "CKR_PIN_LOCKED", rvOf(m.Login(sh, ck.CKU_USER, []byte("nope"))), "third wrong PIN in a row locks")
	assert.Equal(t, "CKR_PIN_LOCKED", rvOf(m.Login(sh, ck.CKU_USER, []byte("s3cret"))), "locked even for the right PIN")
	assert.Equal(t, "CKR_USER_TYPE_INVALID", rvOf(m.Login(sh, ck.CKU_SO, []byte("s3cret"))))
}

func TestLoginWithoutPINAcceptsAnyPIN(t *testing.T) {
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	info, err := m.TokenInfo(0)
	require.NoError(t, err)
	assert.Zero(t, info.Flags&ck.CKF_LOGIN_REQUIRED)
	assert.Len(t, findAll(t, m, sh), 2*len(testKeys), "private keys visible without login")
	require.NoError(t, m.Login(sh, ck.CKU_USER, []byte("anything")))
	assert.Equal(t, "CKR_USER_ALREADY_LOGGED_IN", rvOf(m.Login(sh, ck.CKU_USER, nil)))
	assert.Equal(t, "CKR_USER_TYPE_INVALID", rvOf(m.Login(sh, 99, nil)))
	require.NoError(t, m.CloseSession(sh))
	sh2 := openSession(t, m)
	si, err := m.SessionInfo(sh2)
	require.NoError(t, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), si.State, "closing the last session logged the user out")
}

func TestSessionsAndHandles(t *testing.T) {
	m, _ := testModule(t, "")
	_, err := m.OpenSession(0, 0)
	assert.Equal(t, "CKR_SESSION_PARALLEL_NOT_SUPPORTED", rvOf(err))
	_, err = m.OpenSession(7, ck.CKF_SERIAL_SESSION)
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rvOf(err))
	rw, err := m.OpenSession(0, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	require.NoError(t, err)
	ro := openSession(t, m)
	assert.NotEqual(t, rw, ro)
	si, err := m.SessionInfo(rw)
	require.NoError(t, err)
	assert.Equal(t, SessionInfo{SlotID: 0, State: ck.CKS_RW_PUBLIC_SESSION, Flags: ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION}, si)
	info, err := m.TokenInfo(0)
	require.NoError(t, err)
	assert.Equal(t, uint(2), info.SessionCount)
	assert.Equal(t, uint(1), info.RwSessionCount)
	require.NoError(t, m.CloseSession(ro))
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(m.CloseSession(ro)), "stale handle")
	_, err = m.SessionInfo(ro)
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(err))
	require.NoError(t, m.CloseAllSessions(0))
	_, err = m.SessionInfo(rw)
	assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(err))
	assert.Equal(t, "CKR_SLOT_ID_INVALID", rvOf(m.CloseAllSessions(3)))
}

func TestTokenIdentityIsStable(t *testing.T) {
	m1, _ := testModule(t, "")
	a, err := m1.TokenInfo(0)
	require.NoError(t, err)
	require.NoError(t, m1.Finalize())
	m2, _ := testModule(t, "")
	b, err := m2.TokenInfo(0)
	require.NoError(t, err)
	assert.Equal(t, "test", a.Label)
	assert.Len(t, a.SerialNumber, 16)
	assert.Equal(t, a.SerialNumber, b.SerialNumber)
}

func TestNotInitialized(t *testing.T) {
	m := New()
	_, err := m.SlotList(true)
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rvOf(err))
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rvOf(m.Finalize()))
	_, err = m.OpenSession(0, ck.CKF_SERIAL_SESSION)
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rvOf(err))
	mm, _ := testModule(t, "")
	assert.Equal(t, "CKR_CRYPTOKI_ALREADY_INITIALIZED", rvOf(mm.Initialize(InitArgs{})))
}

func TestInitializeRejectsBadConfig(t *testing.T) {
	m := New()
	err := m.Initialize(InitArgs{Present: true, Reserved: "tokens: [{label: a, bogus: 1}]"})
	assert.Equal(t, "CKR_FUNCTION_FAILED", rvOf(err))
	assert.Contains(t, err.Error(), "bogus")
	_, err = m.SlotList(true)
	assert.Equal(t, "CKR_CRYPTOKI_NOT_INITIALIZED", rvOf(err), "a failed C_Initialize leaves the module uninitialized")
}

func TestInitializeFinalizeCyclesLeaveNoGoroutines(t *testing.T) {
	m, _ := testModule(t, "")
	require.NoError(t, m.Finalize())
	url := devKMS(t)
	cfg := fmt.Sprintf("tokens: [{label: c, region: us-east-1, endpoint: %q, anonymous: true}]", url)
	runtime.GC()
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		require.NoError(t, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
		sh := openSession(t, m)
		if i%10 == 0 {
			findAll(t, m, sh) // real remote calls, real connections
		}
		require.NoError(t, m.Finalize())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after 100 initialize/finalize cycles")
}
