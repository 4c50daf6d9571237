package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

// CreateKey creates a key of the spec and usage with the service's default
// key policy and, when alias is not empty, points the alias at it ("alias/"
// is prepended when missing). It returns the new key's description.
//
// If the key is created but the alias is not, the error names the new key's
// ARN: the key exists and is not deleted here (deletion is not immediate in
// KMS, and a ceremony must decide).
func (b *Backend) CreateKey(ctx context.Context, spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage, alias, description string, tags map[string]string) (*kmsbackend.KeyInfo, error) {
	sdkSpec, ok := keySpecs[spec]
	if !ok {
		return nil, invalid("CreateKey", "unknown key spec %d", int(spec))
	}
	sdkUsage, ok := keyUsages[usage]
	if !ok {
		return nil, invalid("CreateKey", "unknown key usage %d", int(usage))
	}
	in := &kms.CreateKeyInput{KeySpec: sdkSpec, KeyUsage: sdkUsage}
	if description != "" {
		in.Description = awssdk.String(description)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, types.Tag{TagKey: awssdk.String(k), TagValue: awssdk.String(tags[k])})
	}
	out, err := call(ctx, b, "CreateKey", func(ctx context.Context) (*kms.CreateKeyOutput, error) {
		return b.api.CreateKey(ctx, in)
	})
	if err != nil {
		return nil, err
	}
	if out.KeyMetadata == nil {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: "CreateKey", Err: errNoMetadata}
	}
	arn := awssdk.ToString(out.KeyMetadata.Arn)
	b.log.Info("kms: key created", "key", arn, "spec", spec.String(), "usage", usage.String())
	if alias != "" {
		if !strings.HasPrefix(alias, "alias/") {
			alias = "alias/" + alias
		}
		_, err := call(ctx, b, "CreateAlias", func(ctx context.Context) (*kms.CreateAliasOutput, error) {
			return b.api.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: awssdk.String(alias), TargetKeyId: out.KeyMetadata.KeyId})
		})
		if err != nil {
			return nil, fmt.Errorf("key %s was created, but its alias %s was not: %w", arn, alias, err)
		}
	}
	return b.DescribeKey(ctx, arn)
}

// ScheduleKeyDeletion schedules the key's deletion after pendingDays (7 to
// 30: AWS KMS API reference, ScheduleKeyDeletion PendingWindowInDays).
func (b *Backend) ScheduleKeyDeletion(ctx context.Context, keyARN string, pendingDays int) error {
	if pendingDays < 7 || pendingDays > 30 {
		return invalid("ScheduleKeyDeletion", "pending window of %d days; the service allows 7 to 30", pendingDays)
	}
	_, err := call(ctx, b, "ScheduleKeyDeletion", func(ctx context.Context) (*kms.ScheduleKeyDeletionOutput, error) {
		return b.api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
			KeyId:               awssdk.String(keyARN),
			PendingWindowInDays: awssdk.Int32(int32(pendingDays)),
		})
	})
	return err
}
