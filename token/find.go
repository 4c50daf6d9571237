package token

import (
	"github.com/p11kms/p11kms/ck"
)

// findOp is an active C_FindObjects search: the matching handles, snapshotted
// at C_FindObjectsInit (PKCS#11 2.40 §5.8).
type findOp struct {
	handles []uint
}

// FindObjectsInit implements C_FindObjectsInit. The first search of a token
// discovers its keys (remote calls); later ones use the cache until its TTL.
func (m *Module) FindObjectsInit(sh uint, tmpl []Attribute) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.find != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "a search is already active in this session")
		}
		keys, err := sess.slot.keys.list(m.ctx, m.objects)
		if err != nil {
			sess.deviceError = deviceErrorCode(err)
			return err
		}
		op := &findOp{}
		for _, k := range keys {
			for _, o := range k.objects() {
				if sess.visible(o) && o.matches(tmpl) {
					op.handles = append(op.handles, o.handle)
				}
			}
		}
		for _, o := range m.sessionObjects(sess.slot) { // derived keys (sessobj.go)
			if sess.visible(o) && readingObject(o, func() bool { return o.matches(tmpl) }) {
				op.handles = append(op.handles, o.handle)
			}
		}
		sess.find = op
		return nil
	})
}

// FindObjects implements C_FindObjects: at most max handles.
func (m *Module) FindObjects(sh uint, max int) ([]uint, error) {
	var out []uint
	err := m.withSession(sh, func(sess *session) error {
		if sess.find == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_FindObjects without C_FindObjectsInit")
		}
		n := min(max, len(sess.find.handles))
		out = append([]uint(nil), sess.find.handles[:n]...)
		sess.find.handles = sess.find.handles[n:]
		return nil
	})
	return out, err
}

// FindObjectsFinal implements C_FindObjectsFinal.
func (m *Module) FindObjectsFinal(sh uint) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.find == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_FindObjectsFinal without C_FindObjectsInit")
		}
		sess.find = nil
		return nil
	})
}

// object returns the object for a handle if the session may see it; rv is the
// CK_RV for an unknown handle (CKR_OBJECT_HANDLE_INVALID or CKR_KEY_HANDLE_INVALID).
func (m *Module) object(sess *session, oh uint, rv uint) (*object, error) {
	o, ok := m.objects.get(oh)
	if !ok || !sess.visible(o) {
		return nil, Errorf(rv, "no object with handle %d visible to this session", oh)
	}
	return o, nil
}

// GetAttributeValue implements C_GetAttributeValue (PKCS#11 2.40 §5.7); see AttrRequest.
func (m *Module) GetAttributeValue(sh, oh uint, reqs []AttrRequest) error {
	return m.withSession(sh, func(sess *session) error {
		o, err := m.object(sess, oh, ck.CKR_OBJECT_HANDLE_INVALID)
		if err != nil {
			return err
		}
		return readingObject(o, func() error { return o.getAttributeValue(reqs) })
	})
}

// GetObjectSize implements C_GetObjectSize: the total length of the object's attribute values.
func (m *Module) GetObjectSize(sh, oh uint) (uint, error) {
	var size uint
	err := m.withSession(sh, func(sess *session) error {
		o, err := m.object(sess, oh, ck.CKR_OBJECT_HANDLE_INVALID)
		if err != nil {
			return err
		}
		size = readingObject(o, o.size)
		return nil
	})
	return size, err
}
