package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
)

// ListKeys returns every key in the account and region (all pages; each
// page is one call under the call timeout).
func (b *Backend) ListKeys(ctx context.Context) ([]kmsbackend.KeyRef, error) {
	p := kms.NewListKeysPaginator(b.api, &kms.ListKeysInput{Limit: awssdk.Int32(b.keysPageLimit)})
	var refs []kmsbackend.KeyRef
	for p.HasMorePages() {
		page, err := call(ctx, b, "ListKeys", func(ctx context.Context) (*kms.ListKeysOutput, error) {
			return p.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, k := range page.Keys {
			refs = append(refs, kmsbackend.KeyRef{ID: awssdk.ToString(k.KeyId), ARN: awssdk.ToString(k.KeyArn)})
		}
	}
	return refs, nil
}

// ListAliases returns every alias in the account and region (all pages).
func (b *Backend) ListAliases(ctx context.Context) ([]kmsbackend.Alias, error) {
	return b.listAliases(ctx, "")
}

// listAliases lists the aliases of keyID ("" for every alias).
func (b *Backend) listAliases(ctx context.Context, keyID string) ([]kmsbackend.Alias, error) {
	in := &kms.ListAliasesInput{Limit: awssdk.Int32(b.aliasesPageLimit)}
	if keyID != "" {
		in.KeyId = awssdk.String(keyID)
	}
	p := kms.NewListAliasesPaginator(b.api, in)
	var aliases []kmsbackend.Alias
	for p.HasMorePages() {
		page, err := call(ctx, b, "ListAliases", func(ctx context.Context) (*kms.ListAliasesOutput, error) {
			return p.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, a := range page.Aliases {
			aliases = append(aliases, kmsbackend.Alias{Name: awssdk.ToString(a.AliasName), TargetKeyID: awssdk.ToString(a.TargetKeyId)})
		}
	}
	return aliases, nil
}

// listTags returns the key's tags (all pages).
func (b *Backend) listTags(ctx context.Context, keyID string) (map[string]string, error) {
	p := kms.NewListResourceTagsPaginator(b.api, &kms.ListResourceTagsInput{KeyId: awssdk.String(keyID), Limit: awssdk.Int32(50)})
	tags := map[string]string{}
	for p.HasMorePages() {
		page, err := call(ctx, b, "ListResourceTags", func(ctx context.Context) (*kms.ListResourceTagsOutput, error) {
			return p.NextPage(ctx)
		})
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tags {
			tags[awssdk.ToString(t.TagKey)] = awssdk.ToString(t.TagValue)
		}
	}
	return tags, nil
}
