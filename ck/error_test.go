package ck

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorf(t *testing.T) {
	cause := errors.New("disk on fire")
	tests := []struct {
		name    string
		err     error
		wantRV  uint
		wantMsg string
	}{
		{"nil is CKR_OK", nil, CKR_OK, ""},
		{"plain message", Errorf(CKR_DATA_INVALID, "bad %d", 7), CKR_DATA_INVALID, "CKR_DATA_INVALID: bad 7"},
		{"wrapped cause printed once", Errorf(CKR_DEVICE_ERROR, "sign: %w", cause), CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR: sign: disk on fire"},
		{"outer CK_RV wins", Errorf(CKR_DEVICE_ERROR, "x: %w", Errorf(CKR_FUNCTION_FAILED, "y")), CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR: x: CKR_FUNCTION_FAILED: y"},
		{"foreign error is CKR_FUNCTION_FAILED", fmt.Errorf("z: %w", cause), CKR_FUNCTION_FAILED, "z: disk on fire"},
		{"CK_RV found through fmt wrapping", fmt.Errorf("z: %w", Errorf(CKR_PIN_INCORRECT, "p")), CKR_PIN_INCORRECT, "z: CKR_PIN_INCORRECT: p"},
		{"unknown CK_RV named in hex", &Error{RV: 0x8000_1234}, 0x8000_1234, "CKR_0x80001234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantRV, RV(tt.err))
			if tt.err != nil {
				assert.Equal(t, tt.wantMsg, tt.err.Error())
			}
		})
	}
	assert.ErrorIs(t, Errorf(CKR_DEVICE_ERROR, "sign: %w", cause), cause)
}
