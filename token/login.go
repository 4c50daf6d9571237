package token

import (
	"github.com/p11kms/p11kms/ck"
)

// isLoggedIn reports whether the normal user is logged in to the token.
func (s *slot) isLoggedIn() bool {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	return s.loggedIn
}

// Login implements C_Login (PKCS#11 2.40 §5.6). With no PIN configured any
// PIN logs the user in (access control is IAM's). With a PIN hash configured
// the PIN is checked in constant time and too many consecutive wrong PINs lock
// the token (CKR_PIN_LOCKED) until the module is re-initialized. There is no
// security officer: CKU_SO gets CKR_USER_TYPE_INVALID (keys are administered
// in KMS and IAM, not through the token).
func (m *Module) Login(sh, userType uint, pin []byte) error {
	return m.withSession(sh, func(sess *session) error {
		s := sess.slot
		switch userType {
		case ck.CKU_USER:
		case ck.CKU_SO:
			return Errorf(ck.CKR_USER_TYPE_INVALID, "p11kms has no security officer (CKU_SO); administer keys in KMS")
		case ck.CKU_CONTEXT_SPECIFIC:
			// No p11kms key has CKA_ALWAYS_AUTHENTICATE, so no operation waits for it.
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "CKU_CONTEXT_SPECIFIC login with no operation needing it")
		default:
			return Errorf(ck.CKR_USER_TYPE_INVALID, "user type %d", userType)
		}
		if len(pin) > maxPINLen {
			return Errorf(ck.CKR_PIN_LEN_RANGE, "PIN longer than %d bytes", maxPINLen)
		}
		s.loginMu.Lock()
		defer s.loginMu.Unlock()
		if s.loggedIn {
			return Errorf(ck.CKR_USER_ALREADY_LOGGED_IN, "user already logged in")
		}
		if s.pin != nil {
			if s.failedLogins >= s.maxPINAttempts() {
				return Errorf(ck.CKR_PIN_LOCKED, "token locked after %d wrong PINs; re-initialize the module", s.failedLogins)
			}
			if !s.pin.check(pin) {
				s.failedLogins++
				if s.failedLogins >= s.maxPINAttempts() {
					return Errorf(ck.CKR_PIN_LOCKED, "wrong PIN; token now locked after %d wrong PINs", s.failedLogins)
				}
				return Errorf(ck.CKR_PIN_INCORRECT, "wrong PIN (%d of %d attempts used)", s.failedLogins, s.maxPINAttempts())
			}
			s.failedLogins = 0
		}
		s.loggedIn = true
		return nil
	})
}

// Logout implements C_Logout.
func (m *Module) Logout(sh uint) error {
	return m.withSession(sh, func(sess *session) error {
		s := sess.slot
		s.loginMu.Lock()
		defer s.loginMu.Unlock()
		if !s.loggedIn {
			return Errorf(ck.CKR_USER_NOT_LOGGED_IN, "C_Logout without a login")
		}
		s.loggedIn = false
		return nil
	})
}

// visible reports whether a session may see an object: private objects
// (CKA_PRIVATE true, only when a PIN is configured) need a logged-in user.
func (sess *session) visible(o *object) bool {
	return o.slot == sess.slot && (!o.private || sess.slot.isLoggedIn())
}
