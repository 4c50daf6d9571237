package aws

import (
	"context"
	"errors"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

var _ kmsbackend.Macer = (*Backend)(nil)

// macAlgorithms maps MAC algorithms. Source: AWS KMS API reference,
// GenerateMac, MacAlgorithm valid values.
var macAlgorithms = map[kmsbackend.MacAlgorithm]types.MacAlgorithmSpec{
	kmsbackend.HMAC_SHA_224: types.MacAlgorithmSpecHmacSha224,
	kmsbackend.HMAC_SHA_256: types.MacAlgorithmSpecHmacSha256,
	kmsbackend.HMAC_SHA_384: types.MacAlgorithmSpecHmacSha384,
	kmsbackend.HMAC_SHA_512: types.MacAlgorithmSpecHmacSha512,
}

// maxMac is the longest Mac VerifyMac takes. Source: AWS KMS API
// reference, VerifyMac, Mac ("Minimum length of 1. Maximum length of 6144.").
const maxMac = 6144

// invalidMacCode is the error code of a VerifyMac whose MAC does not match.
// Source: AWS KMS API reference, VerifyMac, Errors: KMSInvalidMacException
// ("the HMAC verification failed", HTTP 400).
const invalidMacCode = "KMSInvalidMacException"

// checkMacMessage refuses, before any call, a message the service would
// refuse (AWS KMS API reference, GenerateMac/VerifyMac Message: 1..4096 bytes).
func checkMacMessage(op string, msg []byte) error {
	if len(msg) < 1 || len(msg) > kmsbackend.MaxMacMessage {
		return invalid(op, "message of %d bytes; the service takes 1 to %d", len(msg), kmsbackend.MaxMacMessage)
	}
	return nil
}

// GenerateMac returns the HMAC of msg under the key with the algorithm
// (AWS KMS GenerateMac). The algorithm is the caller's, never a default.
func (b *Backend) GenerateMac(ctx context.Context, keyARN string, alg kmsbackend.MacAlgorithm, msg []byte) ([]byte, error) {
	sdkAlg, ok := macAlgorithms[alg]
	if !ok {
		return nil, invalid("GenerateMac", "unknown MAC algorithm %d", int(alg))
	}
	if err := checkMacMessage("GenerateMac", msg); err != nil {
		return nil, err
	}
	out, err := call(ctx, b, "GenerateMac", func(ctx context.Context) (*kms.GenerateMacOutput, error) {
		return b.api.GenerateMac(ctx, &kms.GenerateMacInput{
			KeyId:        awssdk.String(keyARN),
			MacAlgorithm: sdkAlg,
			Message:      msg,
		})
	})
	if err != nil {
		return nil, err
	}
	if len(out.Mac) == 0 {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: "GenerateMac", Err: errors.New("the service returned no MAC")}
	}
	return out.Mac, nil
}

// VerifyMac reports whether mac is the HMAC of msg under the key (AWS KMS
// VerifyMac). KMSInvalidMacException, the service's answer to a MAC that
// does not match, is (false, nil); so is MacValid=false, which AWS never
// sends but other implementations of the API do.
func (b *Backend) VerifyMac(ctx context.Context, keyARN string, alg kmsbackend.MacAlgorithm, msg, mac []byte) (bool, error) {
	sdkAlg, ok := macAlgorithms[alg]
	if !ok {
		return false, invalid("VerifyMac", "unknown MAC algorithm %d", int(alg))
	}
	if err := checkMacMessage("VerifyMac", msg); err != nil {
		return false, err
	}
	if len(mac) < 1 || len(mac) > maxMac {
		return false, invalid("VerifyMac", "MAC of %d bytes; the service takes 1 to %d", len(mac), maxMac)
	}
	out, err := call(ctx, b, "VerifyMac", func(ctx context.Context) (*kms.VerifyMacOutput, error) {
		return b.api.VerifyMac(ctx, &kms.VerifyMacInput{
			KeyId:        awssdk.String(keyARN),
			MacAlgorithm: sdkAlg,
			Message:      msg,
			Mac:          mac,
		})
	})
	if err != nil {
		var be *kmsbackend.Error
		if errors.As(err, &be) && be.Code == invalidMacCode {
			return false, nil
		}
		return false, err
	}
	return out.MacValid, nil
}
