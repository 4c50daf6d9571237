package aws

import (
	"context"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

// DescribeKey returns everything the token needs about one key: DescribeKey,
// then, concurrently, GetPublicKey (asymmetric keys), ListResourceTags and
// ListAliases filtered by the key id. ref is a key id, key ARN, alias name or
// alias ARN.
//
// A public key the service refuses because the key is not enabled
// (KindDisabled) is left nil, and tags or aliases the caller may not list
// (KindAccessDenied) are left empty with a warning: the key's metadata is
// still returned, and the token decides from State.
func (b *Backend) DescribeKey(ctx context.Context, ref string) (*kmsbackend.KeyInfo, error) {
	out, err := call(ctx, b, "DescribeKey", func(ctx context.Context) (*kms.DescribeKeyOutput, error) {
		return b.api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: awssdk.String(ref)})
	})
	if err != nil {
		return nil, err
	}
	if out.KeyMetadata == nil {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: "DescribeKey", Err: errNoMetadata}
	}
	info := keyInfo(out.KeyMetadata)

	var (
		wg                   sync.WaitGroup
		pubErr, tagErr, aErr error
		aliases              []kmsbackend.Alias
	)
	if asymmetricSpecs[info.Spec] {
		wg.Go(func() {
			var pub *kms.GetPublicKeyOutput
			pub, pubErr = call(ctx, b, "GetPublicKey", func(ctx context.Context) (*kms.GetPublicKeyOutput, error) {
				return b.api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: awssdk.String(info.ARN)})
			})
			if pubErr == nil {
				info.PublicKeyDER = pub.PublicKey
			}
		})
	}
	wg.Go(func() { info.Tags, tagErr = b.listTags(ctx, info.ID) })
	wg.Go(func() { aliases, aErr = b.listAliases(ctx, info.ID) })
	wg.Wait()

	if pubErr != nil && !(kmsbackend.KindOf(pubErr) == kmsbackend.KindDisabled && info.State != kmsbackend.StateEnabled) {
		return nil, pubErr
	}
	if err := b.tolerateDenied(tagErr, info.ARN); err != nil {
		return nil, err
	}
	if err := b.tolerateDenied(aErr, info.ARN); err != nil {
		return nil, err
	}
	for _, a := range aliases {
		info.Aliases = append(info.Aliases, a.Name)
	}
	if info.Tags == nil {
		info.Tags = map[string]string{}
	}
	return info, nil
}

// tolerateDenied returns nil for a nil or access-denied error (logged), err otherwise.
func (b *Backend) tolerateDenied(err error, arn string) error {
	if err == nil {
		return nil
	}
	if kmsbackend.KindOf(err) == kmsbackend.KindAccessDenied {
		b.log.Warn("kms: listing tags or aliases denied; the key is described without them", "key", arn, "err", err)
		return nil
	}
	return err
}

// keyInfo maps the service's KeyMetadata (AWS KMS API reference,
// KeyMetadata) to the project's plain-data KeyInfo.
func keyInfo(md *types.KeyMetadata) *kmsbackend.KeyInfo {
	info := &kmsbackend.KeyInfo{
		ID:           awssdk.ToString(md.KeyId),
		ARN:          awssdk.ToString(md.Arn),
		Description:  awssdk.ToString(md.Description),
		Spec:         kmsbackend.ParseKeySpec(string(md.KeySpec)),
		Usage:        kmsbackend.ParseKeyUsage(string(md.KeyUsage)),
		State:        kmsbackend.ParseKeyState(string(md.KeyState)),
		Origin:       string(md.Origin),
		CreatedAt:    awssdk.ToTime(md.CreationDate),
		DeletionDate: awssdk.ToTime(md.DeletionDate),
	}
	for _, a := range md.SigningAlgorithms {
		if alg := kmsbackend.ParseSigningAlgorithm(string(a)); alg != kmsbackend.SignUnknown {
			info.SigningAlgorithms = append(info.SigningAlgorithms, alg)
		}
	}
	for _, a := range md.EncryptionAlgorithms {
		if alg := kmsbackend.ParseEncryptionAlgorithm(string(a)); alg != kmsbackend.EncryptUnknown {
			info.EncryptionAlgorithms = append(info.EncryptionAlgorithms, alg)
		}
	}
	for _, a := range md.MacAlgorithms {
		if alg := kmsbackend.ParseMacAlgorithm(string(a)); alg != kmsbackend.MacUnknown {
			info.MacAlgorithms = append(info.MacAlgorithms, alg)
		}
	}
	for _, a := range md.KeyAgreementAlgorithms {
		if alg := kmsbackend.ParseKeyAgreementAlgorithm(string(a)); alg != kmsbackend.AgreeUnknown {
			info.KeyAgreementAlgorithms = append(info.KeyAgreementAlgorithms, alg)
		}
	}
	return info
}
