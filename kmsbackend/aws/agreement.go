package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

var _ kmsbackend.KeyAgreer = (*Backend)(nil)

// agreementAlgorithms maps key agreement algorithms. Source: AWS KMS API
// reference, DeriveSharedSecret, KeyAgreementAlgorithm valid values.
var agreementAlgorithms = map[kmsbackend.KeyAgreementAlgorithm]types.KeyAgreementAlgorithmSpec{
	kmsbackend.ECDH: types.KeyAgreementAlgorithmSpecEcdh,
}

// DeriveSharedSecret derives the shared secret of the KEY_AGREEMENT key and
// the peer's DER SubjectPublicKeyInfo (AWS KMS API reference,
// DeriveSharedSecret; no Recipient: the secret comes back in plaintext
// over TLS, as the token needs it to build the derived key object).
func (b *Backend) DeriveSharedSecret(ctx context.Context, keyARN string, alg kmsbackend.KeyAgreementAlgorithm, peerSPKI []byte) ([]byte, error) {
	sdkAlg, ok := agreementAlgorithms[alg]
	if !ok {
		return nil, invalid("DeriveSharedSecret", "unknown key agreement algorithm %d", int(alg))
	}
	if len(peerSPKI) == 0 {
		return nil, invalid("DeriveSharedSecret", "no peer public key")
	}
	out, err := call(ctx, b, "DeriveSharedSecret", func(ctx context.Context) (*kms.DeriveSharedSecretOutput, error) {
		return b.api.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{
			KeyId:                 awssdk.String(keyARN),
			KeyAgreementAlgorithm: sdkAlg,
			PublicKey:             peerSPKI,
		})
	})
	if err != nil {
		return nil, err
	}
	return out.SharedSecret, nil
}
