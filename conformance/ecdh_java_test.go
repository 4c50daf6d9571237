package conformance

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// javaECDHCase is one KeyAgreement run of ECDHAgree.java.
type javaECDHCase struct {
	op     string // check name, without the subject
	key    string // ecdhClientCurves name of the token key
	peer   ecdh.Curve
	refuse string // "" for a derivation; else the exact exception chain ECDHAgree.java prints
}

// javaECDHCases are the Java checks: each curve, then a peer on another
// curve, which the module refuses (PKCS#11 2.40 §5.18 C_DeriveKey: the
// parameter is invalid) and SunPKCS11 reports as a ProviderException.
var javaECDHCases = []javaECDHCase{
	{"KeyAgreement ECDH generateSecret (SunPKCS11)", "ecdh-p256", ecdh.P256(), ""},
	{"KeyAgreement ECDH generateSecret (SunPKCS11)", "ecdh-p384", ecdh.P384(), ""},
	{"KeyAgreement ECDH refused: P-256 peer for a P-384 key gives CKR_MECHANISM_PARAM_INVALID", "ecdh-p384", ecdh.P256(),
		"java.security.ProviderException: Could not derive key <- sun.security.pkcs11.wrapper.PKCS11Exception: CKR_MECHANISM_PARAM_INVALID"},
}

// javaECDHLine is one output line of ECDHAgree.java.
var javaECDHLine = regexp.MustCompile(`^case (\d+) (ok ([0-9a-f]+) ([0-9a-f]+)|error (.*))$`)

// javaECDHChecks runs ECDHAgree.java once for every javaECDHCases row and
// registers a check for each. SunPKCS11 lists a key only with a
// certificate of the same CKA_ID (CLIENTS.md), and a KEY_AGREEMENT key
// cannot sign one, so each key gets a certificate for its KMS public key
// from a software CA (Go), attached with the `certificates:` option.
func javaECDHChecks(t *testing.T, x *extraKMS, keys map[string]*extraKey, ids []string) {
	var out map[int]string // case -> raw line tail, for the checks
	var peers []*ecdh.PrivateKey
	if !check(t, clientJava, "KeyAgreement ECDH: run ECDHAgree.java", func(t *testing.T) {
		requireTool(t, "java")
		x.require(t)
		dir := t.TempDir()
		certs := map[string]string{}
		for _, c := range ecdhClientCurves {
			keys[c.name].require(t)
			certs["conf-"+c.name] = javaECDHCertificate(t, dir, "conf-"+c.name, keys[c.name])
		}
		cfg := filepath.Join(dir, "sunpkcs11.cfg")
		require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "name = p11kms-ecdh\nlibrary = %s\nslotListIndex = 0\n", env.Module), 0o644))
		src, err := filepath.Abs(filepath.Join("testdata", "java", "ECDHAgree.java"))
		require.NoError(t, err)
		args := []string{"java", src, cfg, env.PIN}
		for i, c := range javaECDHCases {
			peer, err := c.peer.GenerateKey(rand.Reader)
			require.NoError(t, err)
			peers = append(peers, peer)
			spki, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
			require.NoError(t, err)
			p8, err := x509.MarshalPKCS8PrivateKey(peer)
			require.NoError(t, err)
			pubFile, privFile := filepath.Join(dir, fmt.Sprintf("peer%d.der", i)), filepath.Join(dir, fmt.Sprintf("peer%d.p8", i))
			require.NoError(t, os.WriteFile(pubFile, spki, 0o600))
			require.NoError(t, os.WriteFile(privFile, p8, 0o600))
			args = append(args, "conf-"+c.key, pubFile, privFile)
		}
		r := Cmd{Args: args, Env: ecdhTokenEnv(t, x, ids, certs), Dir: dir, Timeout: javaTimeout}.Run(t)
		out = map[int]string{}
		for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			m := javaECDHLine.FindStringSubmatch(line)
			require.NotNil(t, m, "unexpected output line %q", line)
			var i int
			_, err := fmt.Sscan(m[1], &i)
			require.NoError(t, err)
			out[i] = m[2]
		}
		require.Len(t, out, len(javaECDHCases), "one line per case:\n%s", r.Combined)
	}) {
		return
	}
	for i, c := range javaECDHCases {
		check(t, clientJava, c.op+": "+c.key, func(t *testing.T) {
			if out == nil {
				skipCheck(t, "ECDHAgree.java did not run (see the run check)")
			}
			line := out[i]
			if c.refuse != "" {
				require.Equal(t, "error "+c.refuse, line, "SunPKCS11's refusal")
				return
			}
			m := javaECDHLine.FindStringSubmatch(fmt.Sprintf("case %d %s", i, line))
			require.NotNil(t, m, "case %d failed: %s", i, line)
			token, err := hex.DecodeString(m[3])
			require.NoError(t, err)
			software, err := hex.DecodeString(m[4])
			require.NoError(t, err)
			// Go's crypto/ecdh from the peer's side, with the KMS public key.
			pub, err := x509.ParsePKIXPublicKey(keys[c.key].Info.PublicKeyDER)
			require.NoError(t, err)
			kmsPub, err := pub.(*ecdsa.PublicKey).ECDH()
			require.NoError(t, err)
			want, err := peers[i].ECDH(kmsPub)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(software), "Java's SunEC secret differs from Go's")
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(token), "the token's secret (SunPKCS11) differs from Go's")
		})
	}
}

// javaECDHCertificate issues a certificate for k's KMS public key from a
// throw-away software CA and writes it as PEM; it returns the file.
func javaECDHCertificate(t *testing.T, dir, label string, k *extraKey) string {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(k.Info.PublicKeyDER)
	require.NoError(t, err)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conformance ECDH CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: label},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageKeyAgreement}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	require.NoError(t, err)
	file := filepath.Join(dir, label+".crt")
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.True(t, bytes.Contains(der, k.Info.PublicKeyDER), "the certificate carries the KMS public key")
	return file
}
