package kmsbackend

import "context"

// MaxMacMessage is the longest message GenerateMac and VerifyMac take, in
// bytes. Source: AWS KMS API reference, GenerateMac and VerifyMac, Message
// ("Length Constraints: Minimum length of 1. Maximum length of 4096.").
const MaxMacMessage = 4096

// Macer is the optional capability to compute and check HMACs with a
// GENERATE_VERIFY_MAC key (AWS KMS GenerateMac and VerifyMac), discovered
// by type assertion on a Backend. The key material never leaves the service.
type Macer interface {
	// GenerateMac returns the HMAC of msg (1..MaxMacMessage bytes) under
	// the key with the algorithm, as long as the algorithm's hash.
	GenerateMac(ctx context.Context, keyARN string, alg MacAlgorithm, msg []byte) ([]byte, error)
	// VerifyMac reports whether mac is the HMAC of msg under the key with
	// the algorithm. A MAC that does not match is (false, nil), never an
	// error: AWS KMS answers KMSInvalidMacException, and implementations
	// translate it. Errors are failures to get an answer.
	VerifyMac(ctx context.Context, keyARN string, alg MacAlgorithm, msg, mac []byte) (bool, error)
}
