package token

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// object is one PKCS#11 object backed by a KMS key, a certificate, or (a
// session object, sessobj.go) a key derived in the module.
// Its attributes are computed once, when the object is built, and never
// change (every object is CKA_MODIFIABLE false), so an object is safe to
// share between goroutines without locking.
type object struct {
	handle    uint            // set by the handle table (handles.go), not here
	class     uint            // CKO_*
	keyARN    string          // backing KMS key ARN
	private   bool            // CKA_PRIVATE: visible only to logged-in sessions
	attrs     map[uint][]byte // every attribute the object has, encoded as PKCS#11 wants it
	sensitive map[uint]bool   // attribute types that exist but are never revealed
	slot      *slot           // the token the object belongs to (set by keys.go)
	key       *keyEntry       // the discovered key behind the object (set by keys.go)
	session   uint            // for a session object (derive.go): the session that made it; 0 for token objects
}

// attr returns the encoded value of attribute t and true when the object has
// t and may reveal it. A sensitive attribute (PKCS#11 2.40 §4.9: CKA_SENSITIVE
// private parts) or one the object lacks gives (nil, false). The returned
// slice is the object's own: callers must not modify it.
func (o *object) attr(t uint) ([]byte, bool) {
	if o.sensitive[t] {
		return nil, false
	}
	v, ok := o.attrs[t]
	return v, ok
}

// size implements C_GetObjectSize (PKCS#11 2.40 §5.7): the sum of the lengths
// of the object's revealable attribute values. The spec leaves the measure
// to the token; this one is stable and cheap.
func (o *object) size() uint {
	var n uint
	for t, v := range o.attrs {
		if !o.sensitive[t] {
			n += uint(len(v))
		}
	}
	return n
}

// ulongSize is sizeof(CK_ULONG): C's unsigned long, which has the width of
// Go's uint on every platform cgo targets here (LP64 Unix, ILP32).
const ulongSize = bits.UintSize / 8

// encodeULong encodes v as a CK_ULONG value (PKCS#11 2.40 §3.1): the native
// in-memory representation of a C unsigned long (8-byte little endian on
// linux/amd64), which is what C code reading pValue expects.
func encodeULong(v uint) []byte {
	b := make([]byte, ulongSize)
	if ulongSize == 8 {
		binary.NativeEndian.PutUint64(b, uint64(v))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(v))
	}
	return b
}

// encodeULongs encodes an array of CK_ULONG (for instance CKA_ALLOWED_MECHANISMS,
// an array of CK_MECHANISM_TYPE; PKCS#11 2.40 §4.7) as consecutive native values.
func encodeULongs(vs []uint) []byte {
	b := make([]byte, 0, len(vs)*ulongSize)
	for _, v := range vs {
		b = append(b, encodeULong(v)...)
	}
	return b
}

// encodeBool encodes b as a CK_BBOOL (PKCS#11 2.40 §3.1): one byte, CK_TRUE (1) or CK_FALSE (0).
func encodeBool(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

// encodeDate encodes t as a CK_DATE (PKCS#11 2.40 §3.3): 8 ASCII digits
// YYYYMMDD of the UTC date. The zero time gives an empty value, which
// PKCS#11 2.40 §4.7 allows for CKA_START_DATE and CKA_END_DATE ("empty value").
func encodeDate(t time.Time) []byte {
	if t.IsZero() {
		return []byte{}
	}
	return []byte(t.UTC().Format("20060102"))
}
