package main

// A call to C_Sign, C_SignUpdate or C_SignFinal (C_Verify, C_VerifyUpdate,
// C_VerifyFinal) that fails ends the active operation, except a successful
// size query or CKR_BUFFER_TOO_SMALL (PKCS#11 2.40 §5.2, §5.11, §5.12). When
// cgo itself rejects the C arguments (CKR_ARGUMENTS_BAD) the token is never
// called, so cgo ends the operation through the token's EndSign/EndVerify.

// endSign ends the session's signing operation after err, a cgo-decided
// failure, and returns err.
func endSign(sh uint, err error) error {
	mod.EndSign(sh)
	return err
}

// endVerify ends the session's verification operation after err, a
// cgo-decided failure, and returns err.
func endVerify(sh uint, err error) error {
	mod.EndVerify(sh)
	return err
}
