package cabitest

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
)

// everyKeys is one KMS key of every spec and usage the token exposes, the
// set TestEveryListedMechanism loads into one token. A row per AWS KMS
// KeySpec x KeyUsage pair (AWS KMS API reference, CreateKey KeySpec and
// KeyUsage; AWS KMS Developer Guide, "Key spec reference").
var everyKeys = []struct {
	spec  kmsbackend.KeySpec
	usage kmsbackend.KeyUsage
}{
	{kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt},
	{kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify},
	{kmsbackend.SpecHMAC224, kmsbackend.UsageGenerateVerifyMac},
	{kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac},
	{kmsbackend.SpecHMAC384, kmsbackend.UsageGenerateVerifyMac},
	{kmsbackend.SpecHMAC512, kmsbackend.UsageGenerateVerifyMac},
	{kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt},
}

// everyKey is one key of the environment with its objects in the token.
type everyKey struct {
	info         *kmsbackend.KeyInfo // as CreateKey returned it (the KMS's own public key)
	label        string
	priv, pub    pkcs11.ObjectHandle // asymmetric keys
	secret       pkcs11.ObjectHandle // HMAC and SYMMETRIC_DEFAULT keys
	allowedMechs []uint
}

// everyEnv is an own environment (ownenv_test.go) holding everyKeys, its
// oracle the independent party (VerifyMac, Decrypt), and the module loaded
// with one token over all of them.
type everyEnv struct {
	p      *pkcs11.Ctx
	sh     pkcs11.SessionHandle
	slot   uint
	oracle *aws.Backend
	keys   []*everyKey
}

func startEveryEnv(t *testing.T) *everyEnv {
	t.Helper()
	var created []ownKey
	for _, k := range everyKeys {
		created = append(created, ownKey{k.spec, k.usage, fmt.Sprintf("alias/every-%s-%s", k.spec, k.usage)})
	}
	own := startOwnEnv(t, "every", nil, created...)
	e := &everyEnv{oracle: own.oracle}
	for _, k := range created {
		e.keys = append(e.keys, &everyKey{info: own.keys[k.alias], label: strings.TrimPrefix(k.alias, "alias/")})
	}
	e.p, e.slot = own.load(t)
	e.sh = openSession(t, e.p, e.slot, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	for _, k := range e.keys {
		e.findObjects(t, k)
	}
	return e
}

// findObjects finds a key's objects by label and reads the mechanisms its
// private or secret key allows (CKA_ALLOWED_MECHANISMS, PKCS#11 3.0 §4.7).
func (e *everyEnv) findObjects(t *testing.T, k *everyKey) {
	t.Helper()
	of := func(class uint) []pkcs11.ObjectHandle {
		return findAll(t, e.p, e.sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, class), pkcs11.NewAttribute(ck.CKA_LABEL, k.label)})
	}
	var holder pkcs11.ObjectHandle
	if s := of(ck.CKO_SECRET_KEY); len(s) == 1 {
		k.secret, holder = s[0], s[0]
	} else {
		priv, pub := of(ck.CKO_PRIVATE_KEY), of(ck.CKO_PUBLIC_KEY)
		require.Len(t, priv, 1, "private key %s", k.label)
		require.Len(t, pub, 1, "public key %s", k.label)
		k.priv, k.pub, holder = priv[0], pub[0], priv[0]
	}
	raw := attr(t, e.p, e.sh, holder, ck.CKA_ALLOWED_MECHANISMS)
	require.Zero(t, len(raw)%8, "CKA_ALLOWED_MECHANISMS of %s", k.label)
	for i := 0; i < len(raw); i += 8 {
		k.allowedMechs = append(k.allowedMechs, uint(binary.NativeEndian.Uint64(raw[i:])))
	}
}

// keysFor returns the environment's keys whose objects allow mech.
func (e *everyEnv) keysFor(mech uint) []*everyKey {
	var out []*everyKey
	for _, k := range e.keys {
		for _, m := range k.allowedMechs {
			if m == mech {
				out = append(out, k)
				break
			}
		}
	}
	return out
}
