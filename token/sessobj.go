package token

import (
	"sort"
	"sync"

	"github.com/p11kms/p11kms/ck"
)

// Session objects (PKCS#11 2.40 §4.4 CKA_TOKEN false; §5.6): the secret
// keys C_DeriveKey makes (derive.go). They live in the module's object
// table next to the KMS-backed token objects, marked with the handle of
// the session that made them; every session of the token sees them
// (subject to CKA_PRIVATE, login.go), and they are destroyed, their
// values zeroed, when that session closes (C_CloseSession,
// C_CloseAllSessions), at C_Finalize, or by C_DestroyObject.

// sessionValues guards the attribute values of session objects, which
// destroySessionObject zeroes in place while another session may be
// reading them (token objects never change and need no lock).
var sessionValues sync.RWMutex

// readingObject runs read with o's values held still: under sessionValues
// for a session object, directly for a token object.
func readingObject[T any](o *object, read func() T) T {
	if o.session != 0 {
		sessionValues.RLock()
		defer sessionValues.RUnlock()
	}
	return read()
}

// addSessionObject registers o as a session object of sess. If the session
// was closed meanwhile (C_CloseSession from another thread does not wait
// for the session's lock), the object is destroyed again and the call
// fails with CKR_SESSION_CLOSED, so no object outlives its session.
func (m *Module) addSessionObject(sess *session, o *object) (uint, error) {
	o.slot, o.session = sess.slot, sess.handle
	m.objects.addNamed(o, func(h uint) { o.handle = h })
	if cur, ok := m.sessions.get(sess.handle); !ok || cur != sess {
		m.destroySessionObject(o.handle)
		return 0, Errorf(ck.CKR_SESSION_CLOSED, "session %d was closed while the key was being derived", sess.handle)
	}
	return o.handle, nil
}

// sessionObjects returns the session objects of token s in handle order
// (a stable order for C_FindObjects).
func (m *Module) sessionObjects(s *slot) []*object {
	var out []*object
	for _, o := range m.objects.values() {
		if o.session != 0 && o.slot == s {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].handle < out[j].handle })
	return out
}

// destroySessionObject removes the session object h from the object table
// and zeroes its attribute values (the key value above all). An object
// already removed, or a token object, is left alone.
func (m *Module) destroySessionObject(h uint) {
	o, ok := m.objects.get(h)
	if !ok || o.session == 0 {
		return
	}
	if _, ok := m.objects.remove(h); ok {
		sessionValues.Lock()
		for _, v := range o.attrs {
			clear(v)
		}
		sessionValues.Unlock()
	}
}

// destroyObjectsOf destroys every session object that session sh made.
func (m *Module) destroyObjectsOf(sh uint) {
	for _, o := range m.objects.values() {
		if o.session == sh {
			m.destroySessionObject(o.handle)
		}
	}
}

// DestroyObject implements C_DestroyObject (PKCS#11 2.40 §5.7) for session
// objects: any session of the token may destroy one it can see (a
// read-only session too: §5.7 lets read-only sessions destroy session
// objects). An object whose CKA_DESTROYABLE is false is
// CKR_ACTION_PROHIBITED (PKCS#11 3.0 §4.4, §5.7): a session object made so,
// and every KMS-backed object (key, certificate), since KMS keys are
// deleted in KMS (ScheduleKeyDeletion), not here.
func (m *Module) DestroyObject(sh, oh uint) error {
	return m.withSession(sh, func(sess *session) error {
		o, err := m.object(sess, oh, ck.CKR_OBJECT_HANDLE_INVALID)
		if err != nil {
			return err
		}
		switch {
		case o.session == 0:
			return Errorf(ck.CKR_ACTION_PROHIBITED, "object %d stands for a KMS key (CKA_DESTROYABLE false); delete keys in KMS (ScheduleKeyDeletion), not with C_DestroyObject", oh)
		case !o.boolAttr(ck.CKA_DESTROYABLE):
			return Errorf(ck.CKR_ACTION_PROHIBITED, "session object %d was made with CKA_DESTROYABLE false", oh)
		}
		m.destroySessionObject(oh)
		return nil
	})
}

// wipeSessionObjects zeroes every session object's values; Finalize calls
// it before dropping the object table.
func (m *Module) wipeSessionObjects() {
	for _, o := range m.objects.values() {
		if o.session != 0 {
			m.destroySessionObject(o.handle)
		}
	}
}
