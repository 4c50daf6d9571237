package aws

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsAPI lists the only AWS KMS calls the backend makes (*kms.Client
// implements it). Keeping it narrow documents the IAM permissions the
// module needs: kms:ListKeys, kms:ListAliases, kms:DescribeKey,
// kms:GetPublicKey, kms:ListResourceTags, kms:Sign, kms:Decrypt,
// kms:GenerateRandom, kms:Encrypt (SYMMETRIC_DEFAULT keys), kms:GenerateMac and kms:VerifyMac (HMAC keys),
// kms:DeriveSharedSecret (KEY_AGREEMENT keys), and
// for key management kms:CreateKey,
// kms:CreateAlias, kms:ScheduleKeyDeletion.
type kmsAPI interface {
	ListKeys(ctx context.Context, in *kms.ListKeysInput, opts ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	ListAliases(ctx context.Context, in *kms.ListAliasesInput, opts ...func(*kms.Options)) (*kms.ListAliasesOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, opts ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
	Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	GenerateRandom(ctx context.Context, in *kms.GenerateRandomInput, opts ...func(*kms.Options)) (*kms.GenerateRandomOutput, error)
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, opts ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	VerifyMac(ctx context.Context, in *kms.VerifyMacInput, opts ...func(*kms.Options)) (*kms.VerifyMacOutput, error)
	DeriveSharedSecret(ctx context.Context, in *kms.DeriveSharedSecretInput, opts ...func(*kms.Options)) (*kms.DeriveSharedSecretOutput, error)
	CreateKey(ctx context.Context, in *kms.CreateKeyInput, opts ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(ctx context.Context, in *kms.CreateAliasInput, opts ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
	ScheduleKeyDeletion(ctx context.Context, in *kms.ScheduleKeyDeletionInput, opts ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

var _ kmsAPI = (*kms.Client)(nil)
