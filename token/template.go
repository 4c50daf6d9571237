package token

import "bytes"

// matches reports whether the object matches a C_FindObjectsInit template
// (PKCS#11 2.40 §5.8): it has every template attribute, with a byte-equal
// value. An attribute the object lacks, or holds as sensitive (its value
// cannot be compared without revealing it), makes it not match; that is not
// an error. An empty template matches every object. Values compare as their
// encodings: a CK_BBOOL is one byte (CK_TRUE is 1), a CK_ULONG is native-width,
// so a template value of another length never matches.
func (o *object) matches(tmpl []Attribute) bool {
	for _, a := range tmpl {
		v, ok := o.attr(a.Type)
		if !ok || !bytes.Equal(v, a.Value) {
			return false
		}
	}
	return true
}
