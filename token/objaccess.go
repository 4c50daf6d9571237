package token

// boolAttr reports whether the object has the CK_BBOOL attribute t set to true.
func (o *object) boolAttr(t uint) bool {
	v, ok := o.attrs[t]
	return ok && len(v) == 1 && v[0] != 0
}
