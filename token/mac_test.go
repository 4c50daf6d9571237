package token

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
)

// macKeys are HMAC keys created once in the shared dev KMS with the aws
// backend's CreateKey (usage GENERATE_VERIFY_MAC). Lengths: AWS KMS
// Developer Guide, "Key spec reference", HMAC key specs (key length = hash
// length) and FIPS 180-4 (hash output sizes).
var macKeys = []struct {
	alias     string
	spec      kmsbackend.KeySpec
	mech      uint
	keyType   uint
	keyLen    uint
	macLen    int
	otherMech uint // an HMAC mechanism of another hash
}{
	{"t-hmac224", kmsbackend.SpecHMAC224, ck.CKM_SHA224_HMAC, ck.CKK_SHA224_HMAC, 28, 28, ck.CKM_SHA256_HMAC},
	{"t-hmac256", kmsbackend.SpecHMAC256, ck.CKM_SHA256_HMAC, ck.CKK_SHA256_HMAC, 32, 32, ck.CKM_SHA384_HMAC},
	{"t-hmac384", kmsbackend.SpecHMAC384, ck.CKM_SHA384_HMAC, ck.CKK_SHA384_HMAC, 48, 48, ck.CKM_SHA512_HMAC},
	{"t-hmac512", kmsbackend.SpecHMAC512, ck.CKM_SHA512_HMAC, ck.CKK_SHA512_HMAC, 64, 64, ck.CKM_SHA224_HMAC},
}

// macDisableAlias is an HMAC key that TestHMACKeyDisabledInKMS disables.
const macDisableAlias = "t-hmac-disabled"

// macSuite is macKeys, created once in the shared dev KMS (tagged
// suite=hmac), and macDisableSuite the untagged key
// TestHMACKeyDisabledInKMS disables.
var (
	macSuite        = &keySuite{tag: "hmac", desc: "p11kms token HMAC test", keys: macSuiteKeys()}
	macDisableSuite = &keySuite{keys: []suiteKey{{macDisableAlias, kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac}}}
	// macInfos are the oracle's descriptions of macKeys, by alias (filled by macOracle).
	macInfos map[string]*kmsbackend.KeyInfo
)

// macSuiteKeys returns macKeys as the rows of a keySuite.
func macSuiteKeys() []suiteKey {
	var keys []suiteKey
	for _, k := range macKeys {
		keys = append(keys, suiteKey{k.alias, k.spec, kmsbackend.UsageGenerateVerifyMac})
	}
	return keys
}

// macOracle returns an aws backend on the shared dev KMS, independent of the
// module, creating macSuite and macDisableSuite on first use.
func macOracle(t *testing.T) *aws.Backend {
	t.Helper()
	b := kmsOracle(t)
	macInfos = macSuite.create(t)
	macDisableSuite.create(t)
	return b
}

// macCounter counts the MAC calls a real backend makes, so tests can prove
// that a call made none.
type macCounter struct {
	kmsbackend.Backend
	macer               kmsbackend.Macer
	generates, verifies atomic.Int64
}

func (c *macCounter) GenerateMac(ctx context.Context, arn string, alg kmsbackend.MacAlgorithm, msg []byte) ([]byte, error) {
	c.generates.Add(1)
	return c.macer.GenerateMac(ctx, arn, alg, msg)
}

func (c *macCounter) VerifyMac(ctx context.Context, arn string, alg kmsbackend.MacAlgorithm, msg, mac []byte) (bool, error) {
	c.verifies.Add(1)
	return c.macer.VerifyMac(ctx, arn, alg, msg, mac)
}

// macModule returns an initialized module whose one token selects the given
// aliases (default: macKeys and t-rsa2048), with extra YAML lines appended
// to the token, and its counting backend.
func macModule(t *testing.T, extra string, aliases ...string) (*Module, *macCounter) {
	t.Helper()
	macOracle(t)
	if len(aliases) == 0 {
		aliases = []string{"t-rsa2048"}
		for _, k := range macKeys {
			aliases = append(aliases, k.alias)
		}
	}
	return suiteModule(t, "test", "{aliases: ["+strings.Join(aliases, ", ")+"]}", extra, func(b kmsbackend.Backend) *macCounter {
		return &macCounter{Backend: b, macer: b.(kmsbackend.Macer)}
	})
}

// secretKey returns the handle of the one secret-key object labelled alias.
func secretKey(t *testing.T, m *Module, sh uint, alias string) uint {
	t.Helper()
	hs := findAll(t, m, sh, Attribute{Type: ck.CKA_LABEL, Value: []byte(alias)})
	require.Len(t, hs, 1, "objects labelled %s", alias)
	require.Equal(t, encodeULong(ck.CKO_SECRET_KEY), attrValue(t, m, sh, hs[0], ck.CKA_CLASS))
	return hs[0]
}

// macSign computes a MAC through the module, single-part or in parts of
// chunk bytes (chunk 0: single-part).
func macSign(t *testing.T, m *Module, sh, key, mech uint, msg []byte, chunk int) []byte {
	t.Helper()
	require.NoError(t, m.SignInit(sh, Mechanism{Type: mech}, key))
	if chunk == 0 {
		mac, _, err := m.Sign(sh, msg, false, 64)
		require.NoError(t, err)
		return mac
	}
	for part := range chunks(msg, chunk) {
		require.NoError(t, m.SignUpdate(sh, part))
	}
	mac, _, err := m.SignFinal(sh, false, 64)
	require.NoError(t, err)
	return mac
}

// chunks yields msg in parts of at most n bytes.
func chunks(msg []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(msg) > 0 {
			k := min(n, len(msg))
			if !yield(msg[:k]) {
				return
			}
			msg = msg[k:]
		}
	}
}

func TestHMACKeyIsOneSecretKeyObject(t *testing.T) {
	m, _ := macModule(t, "")
	sh := openSession(t, m)
	assert.Len(t, findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_SECRET_KEY)}), len(macKeys))
	for _, k := range macKeys {
		t.Run(k.alias+" is a sensitive, non-extractable sign/verify secret key", func(t *testing.T) {
			info := macInfos[k.alias]
			h := secretKey(t, m, sh, k.alias)
			id, ok := parseUUID(info.ID)
			require.True(t, ok)
			want := map[uint][]byte{
				ck.CKA_KEY_TYPE: encodeULong(k.keyType), ck.CKA_VALUE_LEN: encodeULong(k.keyLen),
				ck.CKA_ID: id, ck.CKA_LABEL: []byte(k.alias), ck.CKA_ALLOWED_MECHANISMS: encodeULong(k.mech),
				ck.CKA_START_DATE: []byte(info.CreatedAt.UTC().Format("20060102")), ck.CKA_END_DATE: {},
				ck.CKA_KEY_GEN_MECHANISM: encodeULong(ck.CKM_GENERIC_SECRET_KEY_GEN),
			}
			for _, a := range []uint{ck.CKA_TOKEN, ck.CKA_SIGN, ck.CKA_VERIFY, ck.CKA_SENSITIVE, ck.CKA_ALWAYS_SENSITIVE, ck.CKA_NEVER_EXTRACTABLE, ck.CKA_LOCAL} {
				want[a] = encodeBool(true)
			}
			for _, a := range []uint{ck.CKA_PRIVATE, ck.CKA_MODIFIABLE, ck.CKA_COPYABLE, ck.CKA_DESTROYABLE, ck.CKA_ENCRYPT, ck.CKA_DECRYPT,
				ck.CKA_WRAP, ck.CKA_UNWRAP, ck.CKA_DERIVE, ck.CKA_EXTRACTABLE, ck.CKA_WRAP_WITH_TRUSTED, ck.CKA_TRUSTED} {
				want[a] = encodeBool(false)
			}
			for typ, v := range want {
				assert.Equal(t, v, attrValue(t, m, sh, h, typ), "attribute 0x%X", typ)
			}
			rows := []struct {
				typ uint
				rv  string
			}{
				{ck.CKA_VALUE, "CKR_ATTRIBUTE_SENSITIVE"},
				{ck.CKA_CHECK_VALUE, "CKR_ATTRIBUTE_TYPE_INVALID"},
				{ck.CKA_PUBLIC_KEY_INFO, "CKR_ATTRIBUTE_TYPE_INVALID"},
				{ck.CKA_MODULUS, "CKR_ATTRIBUTE_TYPE_INVALID"},
			}
			assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.SignInit(sh, Mechanism{Type: k.otherMech}, h)),
				"KMS ties %s to one algorithm: %s only", k.spec, ck.MechName(k.mech))
			for _, r := range rows {
				reqs := []AttrRequest{{Type: r.typ, HasBuf: true, BufLen: 256}}
				assert.Equal(t, r.rv, rvOf(m.GetAttributeValue(sh, h, reqs)), "attribute 0x%X", r.typ)
				assert.Equal(t, ck.UnavailableInformation, reqs[0].Len)
			}
		})
	}
}

func TestHMACMechanismListAndInfo(t *testing.T) {
	m, _ := macModule(t, "")
	list, err := m.MechanismList(0)
	require.NoError(t, err)
	for _, k := range macKeys {
		assert.Contains(t, list, k.mech)
		info, err := m.MechanismInfo(0, k.mech)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{MinKeySize: k.keyLen, MaxKeySize: k.keyLen, Flags: ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, info, ck.MechName(k.mech))
	}
	assert.NotContains(t, list, uint(ck.CKM_SHA256_HMAC_GENERAL))
	m2, _ := macModule(t, "", "t-hmac384")
	list, err = m2.MechanismList(0)
	require.NoError(t, err)
	assert.Contains(t, list, uint(ck.CKM_SHA384_HMAC))
	assert.NotContains(t, list, uint(ck.CKM_SHA256_HMAC), "only the mechanisms of the token's keys")
	_, err = m2.MechanismInfo(0, ck.CKM_SHA256_HMAC)
	assert.Equal(t, "CKR_MECHANISM_INVALID", rvOf(err))
}

func TestHMACWithPINIsPrivate(t *testing.T) {
	hash, err := hashPINWith("s3cret", 1000)
	require.NoError(t, err)
	m, _ := macModule(t, "    pin: \""+hash+"\"\n", "t-hmac256")
	sh := openSession(t, m)
	assert.Empty(t, findAll(t, m, sh), "no secret key before login")
	require.NoError(t, m.Login(sh, ck.CKU_USER, []byte("s3cret")))
	h := secretKey(t, m, sh, "t-hmac256")
	assert.Equal(t, encodeBool(true), attrValue(t, m, sh, h, ck.CKA_PRIVATE))
	mac := macSign(t, m, sh, h, ck.CKM_SHA256_HMAC, []byte("x"), 0)
	assert.Len(t, mac, 32)
	require.NoError(t, m.Logout(sh))
	assert.Equal(t, "CKR_KEY_HANDLE_INVALID", rvOf(m.SignInit(sh, Mechanism{Type: ck.CKM_SHA256_HMAC}, h)), "invisible again after logout")
}

func TestHMACKeyDisabledInKMS(t *testing.T) {
	oracle := macOracle(t)
	m, mc := macModule(t, "", macDisableAlias)
	sh := openSession(t, m)
	h := secretKey(t, m, sh, macDisableAlias)
	info, err := oracle.DescribeKey(context.Background(), "alias/"+macDisableAlias)
	require.NoError(t, err)
	require.NoError(t, disableKey(devKMS(t), info.ID))
	require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_SHA256_HMAC}, h))
	_, _, err = m.Sign(sh, []byte("x"), false, 64)
	assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(err), "KMS DisabledException")
	si, err := m.SessionInfo(sh)
	require.NoError(t, err)
	assert.Equal(t, uint(kmsbackend.KindDisabled), si.DeviceError)
	assert.Equal(t, int64(1), mc.generates.Load())
	require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_SHA256_HMAC}, h))
	assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(m.Verify(sh, []byte("x"), make([]byte, 32))), "a failure to verify is not CKR_SIGNATURE_INVALID")
}
