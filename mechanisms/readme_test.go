package mechanisms

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// TestREADMEKeyTypesTable checks the README's "Key types and mechanisms"
// table (between the keytypes markers) against MechanismsFor: each row's
// mechanisms, in order, for each of its specs and its usage; and every
// spec and usage the code gives mechanisms to has a row.
func TestREADMEKeyTypesTable(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(raw), "<!-- keytypes:begin -->")
	require.True(t, ok, "README has no keytypes:begin marker")
	table, _, ok := strings.Cut(rest, "<!-- keytypes:end -->")
	require.True(t, ok, "README has no keytypes:end marker")

	byName := map[string]uint{}
	for m := range uint(0x10000) { // every standard CKM_ value is below 0x10000
		if n := ck.MechName(m); !strings.HasPrefix(n, "CKM_0x") {
			byName[n] = m
		}
	}
	for _, m := range []uint{CKM_P11KMS_KMS_BLOB, CKM_P11KMS_SM2DSA, CKM_P11KMS_SM3_SM2DSA, CKM_P11KMS_SM2PKE} {
		byName[ck.MechName(m)] = m
	}
	code := regexp.MustCompile("`([A-Z0-9_]+)`")
	names := func(cell string) []string {
		var out []string
		for _, m := range code.FindAllStringSubmatch(cell, -1) {
			out = append(out, m[1])
		}
		return out
	}
	covered := map[[2]int]bool{}
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || !strings.Contains(cells[1], "`") {
			continue
		}
		rows++
		usages := names(cells[2])
		require.Len(t, usages, 1, "row %q", line)
		usage := kmsbackend.ParseKeyUsage(usages[0])
		require.NotEqual(t, kmsbackend.UsageUnknown, usage, "row %q", line)
		var want []uint
		for _, n := range names(cells[4]) {
			m, ok := byName[n]
			require.True(t, ok, "unknown mechanism %s in row %q", n, line)
			want = append(want, m)
		}
		for _, sn := range names(cells[1]) {
			spec := kmsbackend.ParseKeySpec(sn)
			require.NotEqual(t, kmsbackend.SpecUnknown, spec, "row %q", line)
			assert.Equal(t, want, MechanismsFor(spec, usage), "README row for %s %s", sn, usages[0])
			covered[[2]int{int(spec), int(usage)}] = true
		}
	}
	require.NotZero(t, rows)
	for spec := kmsbackend.SpecUnknown + 1; spec <= kmsbackend.SpecMLDSA87; spec++ {
		for usage := kmsbackend.UsageSignVerify; usage <= kmsbackend.UsageKeyAgreement; usage++ {
			if len(MechanismsFor(spec, usage)) > 0 {
				assert.True(t, covered[[2]int{int(spec), int(usage)}], "README has no row for %s %s", spec, usage)
			}
		}
	}
}
