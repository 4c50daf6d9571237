package mechanisms

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// FuzzParseMLDSAParams: any bytes parse without panic, to
// CKR_MECHANISM_PARAM_INVALID or to parameters that encode back to them.
func FuzzParseMLDSAParams(f *testing.F) {
	f.Add([]byte{})
	f.Add(EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_HEDGE_REQUIRED, Context: []byte("ctx")}))
	f.Add(EncodeMLDSAParams(MLDSAParams{Hedge: 7}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseMLDSAParams(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		if len(b) > 0 {
			require.Equal(t, b, EncodeMLDSAParams(p))
		}
	})
}

// FuzzParseSM2ID: any bytes give the ID itself, the default ID (empty
// input) or CKR_MECHANISM_PARAM_INVALID, never a panic.
func FuzzParseSM2ID(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("1234567812345678"))
	f.Add(make([]byte, 8192))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseSM2ID(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		if len(b) == 0 {
			require.Equal(t, SM2DefaultID, id)
			return
		}
		require.Equal(t, b, id)
	})
}
