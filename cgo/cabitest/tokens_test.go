package cabitest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// TestTokensWithKeySelections configures three tokens over the same dev KMS,
// each selecting keys differently (token/config.go KeySelection): one slot per
// token, in order, each showing exactly its keys.
func TestTokensWithKeySelections(t *testing.T) {
	k1 := fixture("Secp256k1")
	p := initializedWith(t, configYAML(
		tokenYAML("by-alias", "    keys: {aliases: [alias/CartorioDigitalRAIZ]}\n"),
		tokenYAML("by-prefix", "    keys: {alias_prefixes: [alias/cabitest-p]}\n"),
		tokenYAML("by-id", fmt.Sprintf("    keys: {ids: [%q]}\n", k1.keyID)),
		tokenYAML("every-key", ""),
	))
	slots, err := p.GetSlotList(true)
	requireRV(t, ck.CKR_OK, err)
	require.Len(t, slots, 4, "one slot per token")
	var all []string
	for _, k := range fixtures {
		all = append(all, k.label())
	}
	sort.Strings(all)
	want := map[string][]string{
		"by-alias":  {"CartorioDigitalRAIZ"},
		"by-prefix": {"cabitest-p256", "cabitest-p384", "cabitest-p521"},
		"by-id":     {k1.label()},
		"every-key": all,
	}
	serials := map[string]bool{}
	for i, label := range []string{"by-alias", "by-prefix", "by-id", "every-key"} {
		ti, err := p.GetTokenInfo(slots[i])
		requireRV(t, ck.CKR_OK, err)
		assert.Equal(t, label, ti.Label, "slot %d", slots[i])
		serials[ti.SerialNumber] = true
		sh := openSession(t, p, slots[i], ck.CKF_SERIAL_SESSION)
		var got []string
		for _, oh := range findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}) {
			got = append(got, string(attr(t, p, sh, oh, ck.CKA_LABEL)))
		}
		sort.Strings(got)
		assert.Equal(t, want[label], got, "private keys of token %q", label)
		assert.Len(t, findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_PUBLIC_KEY)}), len(want[label]), "public keys of token %q", label)
	}
	assert.Len(t, serials, 4, "distinct serial numbers")
}
