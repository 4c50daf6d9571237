package token

import "github.com/p11kms/p11kms/ck"

// The methods below are the token's whole API as cgo/ calls it, one per C_
// function. Handles are CK_ULONG values as uint. Every method is safe for
// concurrent use. TEMPORARY STUBS: bodies are being implemented.

var errTODO = Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "not implemented yet")

// Initialize implements C_Initialize (PKCS#11 2.40 §5.4).
func (m *Module) Initialize(args InitArgs) error { return errTODO }

// Finalize implements C_Finalize: closes every session and stops every goroutine the module started.
func (m *Module) Finalize() error { return errTODO }

// Info implements C_GetInfo (the cryptoki version is filled in by cgo).
func (m *Module) Info() (Info, error) { return Info{}, errTODO }

// SlotList implements C_GetSlotList.
func (m *Module) SlotList(tokenPresent bool) ([]uint, error) { return nil, errTODO }

// SlotInfo implements C_GetSlotInfo.
func (m *Module) SlotInfo(slot uint) (SlotInfo, error) { return SlotInfo{}, errTODO }

// TokenInfo implements C_GetTokenInfo.
func (m *Module) TokenInfo(slot uint) (TokenInfo, error) { return TokenInfo{}, errTODO }

// MechanismList implements C_GetMechanismList.
func (m *Module) MechanismList(slot uint) ([]uint, error) { return nil, errTODO }

// MechanismInfo implements C_GetMechanismInfo.
func (m *Module) MechanismInfo(slot, mech uint) (MechanismInfo, error) {
	return MechanismInfo{}, errTODO
}

// OpenSession implements C_OpenSession (notify callbacks are ignored by cgo).
func (m *Module) OpenSession(slot, flags uint) (uint, error) { return 0, errTODO }

// CloseSession implements C_CloseSession.
func (m *Module) CloseSession(sh uint) error { return errTODO }

// CloseAllSessions implements C_CloseAllSessions.
func (m *Module) CloseAllSessions(slot uint) error { return errTODO }

// SessionInfo implements C_GetSessionInfo.
func (m *Module) SessionInfo(sh uint) (SessionInfo, error) { return SessionInfo{}, errTODO }

// Login implements C_Login.
func (m *Module) Login(sh, userType uint, pin []byte) error { return errTODO }

// Logout implements C_Logout.
func (m *Module) Logout(sh uint) error { return errTODO }

// GetAttributeValue implements C_GetAttributeValue; see AttrRequest.
func (m *Module) GetAttributeValue(sh, oh uint, reqs []AttrRequest) error { return errTODO }

// GetObjectSize implements C_GetObjectSize.
func (m *Module) GetObjectSize(sh, oh uint) (uint, error) { return 0, errTODO }

// FindObjectsInit implements C_FindObjectsInit.
func (m *Module) FindObjectsInit(sh uint, tmpl []Attribute) error { return errTODO }

// FindObjects implements C_FindObjects: at most max handles.
func (m *Module) FindObjects(sh uint, max int) ([]uint, error) { return nil, errTODO }

// FindObjectsFinal implements C_FindObjectsFinal.
func (m *Module) FindObjectsFinal(sh uint) error { return errTODO }

// SignInit implements C_SignInit.
func (m *Module) SignInit(sh uint, mech Mechanism, key uint) error { return errTODO }

// Sign implements C_Sign. query is true when pSignature is NULL; bufLen is
// *pulSignatureLen otherwise. It returns the signature (nil for a query or a
// short buffer) and the length to write to *pulSignatureLen. A query keeps the
// operation; a short buffer returns CKR_BUFFER_TOO_SMALL and keeps it; any
// other outcome ends it (PKCS#11 2.40 §5.2).
func (m *Module) Sign(sh uint, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	return nil, 0, errTODO
}

// SignUpdate implements C_SignUpdate.
func (m *Module) SignUpdate(sh uint, part []byte) error { return errTODO }

// SignFinal implements C_SignFinal, with Sign's output conventions.
func (m *Module) SignFinal(sh uint, query bool, bufLen uint) ([]byte, uint, error) {
	return nil, 0, errTODO
}

// VerifyInit implements C_VerifyInit.
func (m *Module) VerifyInit(sh uint, mech Mechanism, key uint) error { return errTODO }

// Verify implements C_Verify: nil when the signature is valid, CKR_SIGNATURE_INVALID
// or CKR_SIGNATURE_LEN_RANGE otherwise.
func (m *Module) Verify(sh uint, data, sig []byte) error { return errTODO }

// VerifyUpdate implements C_VerifyUpdate.
func (m *Module) VerifyUpdate(sh uint, part []byte) error { return errTODO }

// VerifyFinal implements C_VerifyFinal.
func (m *Module) VerifyFinal(sh uint, sig []byte) error { return errTODO }

// GenerateRandom implements C_GenerateRandom.
func (m *Module) GenerateRandom(sh uint, n int) ([]byte, error) { return nil, errTODO }

// SeedRandom implements C_SeedRandom (CKR_RANDOM_SEED_NOT_SUPPORTED: KMS takes no seed).
func (m *Module) SeedRandom(sh uint, seed []byte) error { return errTODO }

// LogResult logs the outcome of one C_ call once, at the C boundary: errors
// that are part of normal use (CKR_BUFFER_TOO_SMALL, CKR_SIGNATURE_INVALID, ...)
// at debug level, others at warn or error. fn is the C function name.
func (m *Module) LogResult(fn string, err error) {}
