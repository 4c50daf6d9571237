package token

import (
	"sync"

	"github.com/p11kms/p11kms/ck"
)

// session is one PKCS#11 session. Its mutex serializes calls on the same
// session (PKCS#11 2.40 §5.6: an application must not use one session from
// several threads at once; we make doing so safe rather than undefined).
type session struct {
	mu          sync.Mutex
	handle      uint
	slot        *slot
	flags       uint
	find        *findOp
	sign        *signOp
	verify      *verifyOp
	decrypt     *decryptOp
	encrypt     *encryptOp
	digest      *digestOp
	deviceError uint
}

// OpenSession implements C_OpenSession (PKCS#11 2.40 §5.6). Notify callbacks are not used.
func (m *Module) OpenSession(slotID, flags uint) (uint, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return 0, err
	}
	s, err := m.slot(slotID)
	if err != nil {
		return 0, err
	}
	if flags&ck.CKF_SERIAL_SESSION == 0 {
		return 0, Errorf(ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED, "C_OpenSession without CKF_SERIAL_SESSION")
	}
	sess := &session{slot: s, flags: flags & (ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION)}
	sess.handle = m.sessions.add(sess)
	return sess.handle, nil
}

// CloseSession implements C_CloseSession. Closing a token's last session logs
// the user out (PKCS#11 2.40 §5.6).
func (m *Module) CloseSession(sh uint) error {
	done, err := m.enter()
	defer done()
	if err != nil {
		return err
	}
	sess, ok := m.sessions.remove(sh)
	if !ok {
		return errSessionHandle(sh)
	}
	m.destroyObjectsOf(sh) // its session objects (sessobj.go)
	m.afterClose(sess.slot)
	return nil
}

// CloseAllSessions implements C_CloseAllSessions.
func (m *Module) CloseAllSessions(slotID uint) error {
	done, err := m.enter()
	defer done()
	if err != nil {
		return err
	}
	s, err := m.slot(slotID)
	if err != nil {
		return err
	}
	for _, sess := range m.sessions.values() {
		if sess.slot == s {
			m.sessions.remove(sess.handle)
			m.destroyObjectsOf(sess.handle) // its session objects (sessobj.go)
		}
	}
	m.afterClose(s)
	return nil
}

// afterClose logs the user out when the token has no session left.
func (m *Module) afterClose(s *slot) {
	for _, sess := range m.sessions.values() {
		if sess.slot == s {
			return
		}
	}
	s.loginMu.Lock()
	s.loggedIn = false
	s.loginMu.Unlock()
}

// SessionInfo implements C_GetSessionInfo. ulDeviceError holds the reason
// code of the session's last failed remote call (README, "Device errors").
func (m *Module) SessionInfo(sh uint) (SessionInfo, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return SessionInfo{}, err
	}
	sess, err := m.session(sh)
	if err != nil {
		return SessionInfo{}, err
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return SessionInfo{SlotID: sess.slot.id, State: sess.state(), Flags: sess.flags, DeviceError: sess.deviceError}, nil
}

// state returns the session state (PKCS#11 2.40 §5.6 / Table 8).
func (sess *session) state() uint {
	rw := sess.flags&ck.CKF_RW_SESSION != 0
	user := sess.slot.isLoggedIn()
	switch {
	case rw && user:
		return ck.CKS_RW_USER_FUNCTIONS
	case rw:
		return ck.CKS_RW_PUBLIC_SESSION
	case user:
		return ck.CKS_RO_USER_FUNCTIONS
	}
	return ck.CKS_RO_PUBLIC_SESSION
}

// session returns the session for a handle.
func (m *Module) session(sh uint) (*session, error) {
	sess, ok := m.sessions.get(sh)
	if !ok {
		return nil, errSessionHandle(sh)
	}
	return sess, nil
}

func errSessionHandle(sh uint) *Error {
	return Errorf(ck.CKR_SESSION_HANDLE_INVALID, "no open session with handle %d", sh)
}

// withSession runs f with the session locked, after the module checks. It is
// the frame of every per-session call.
func (m *Module) withSession(sh uint, f func(*session) error) error {
	done, err := m.enter()
	defer done()
	if err != nil {
		return err
	}
	sess, err := m.session(sh)
	if err != nil {
		return err
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return f(sess)
}
