package token

import (
	"bytes"

	"github.com/p11kms/p11kms/ck"
)

// attrOutcome is what one C_GetAttributeValue entry came to. Its order is the
// precedence of the CK_RV the call returns when entries end differently.
type attrOutcome int

// Entry outcomes, lowest precedence first.
const (
	attrOK          attrOutcome = iota
	attrBufferSmall             // case 5: CKR_BUFFER_TOO_SMALL
	attrTypeInvalid             // case 2: CKR_ATTRIBUTE_TYPE_INVALID
	attrSensitive               // case 1: CKR_ATTRIBUTE_SENSITIVE
)

// attrOutcomeRV maps each outcome to the CK_RV it makes the call return
// (PKCS#11 2.40 §5.7, C_GetAttributeValue, cases 1, 2 and 5).
var attrOutcomeRV = map[attrOutcome]uint{
	attrOK:          ck.CKR_OK,
	attrBufferSmall: ck.CKR_BUFFER_TOO_SMALL,       // §5.7 case 5
	attrTypeInvalid: ck.CKR_ATTRIBUTE_TYPE_INVALID, // §5.7 case 2
	attrSensitive:   ck.CKR_ATTRIBUTE_SENSITIVE,    // §5.7 case 1
}

// getAttributeValue implements C_GetAttributeValue for one object (PKCS#11
// 2.40 §5.7). Every entry of reqs is processed on its own:
//  1. a sensitive attribute: Len = CK_UNAVAILABLE_INFORMATION (CKR_ATTRIBUTE_SENSITIVE);
//  2. an attribute the object lacks: Len = CK_UNAVAILABLE_INFORMATION (CKR_ATTRIBUTE_TYPE_INVALID);
//  3. no buffer (pValue NULL): Len = the value's length;
//  4. a buffer of at least that length: Value = a copy of the value, Len = its length;
//  5. a shorter buffer: Len = CK_UNAVAILABLE_INFORMATION (CKR_BUFFER_TOO_SMALL).
//
// Value is set only in case 4 and is nil otherwise. Array attributes
// (CKA_ALLOWED_MECHANISMS) follow the same rules. When entries end
// differently, the spec lets the token return any of the errors; this one
// returns, deterministically, CKR_ATTRIBUTE_SENSITIVE over
// CKR_ATTRIBUTE_TYPE_INVALID over CKR_BUFFER_TOO_SMALL: the errors a retry
// with bigger buffers cannot cure come first. CKR_OK if every entry succeeded.
// Visibility of the object to the session is the caller's concern.
func (o *object) getAttributeValue(reqs []AttrRequest) error {
	worst, worstType := attrOK, uint(0)
	for i := range reqs {
		if out := o.getOne(&reqs[i]); out > worst {
			worst, worstType = out, reqs[i].Type
		}
	}
	if worst == attrOK {
		return nil
	}
	return ck.Errorf(attrOutcomeRV[worst], "object class 0x%X: attribute 0x%X (first of its kind among %d requested)", o.class, worstType, len(reqs))
}

// getOne fills one entry as getAttributeValue describes and returns its outcome.
func (o *object) getOne(r *AttrRequest) attrOutcome {
	r.Value = nil
	r.Len = ck.UnavailableInformation
	if o.sensitive[r.Type] {
		return attrSensitive
	}
	v, ok := o.attrs[r.Type]
	switch {
	case !ok:
		return attrTypeInvalid
	case !r.HasBuf:
		r.Len = uint(len(v))
		return attrOK
	case r.BufLen < uint(len(v)):
		return attrBufferSmall
	}
	r.Len = uint(len(v))
	r.Value = bytes.Clone(v)
	if r.Value == nil {
		r.Value = []byte{}
	}
	return attrOK
}
