package aws

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingAPI counts the list calls that reach the service.
type countingAPI struct {
	kmsAPI
	listKeys, listAliases int
}

func (c *countingAPI) ListKeys(ctx context.Context, in *kms.ListKeysInput, opts ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	c.listKeys++
	return c.kmsAPI.ListKeys(ctx, in, opts...)
}

func (c *countingAPI) ListAliases(ctx context.Context, in *kms.ListAliasesInput, opts ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	c.listAliases++
	return c.kmsAPI.ListAliases(ctx, in, opts...)
}

func TestListKeysAndAliases(t *testing.T) {
	f := newFixture(t)
	var wantKeys []kmsbackend.KeyRef
	var wantAliases []kmsbackend.Alias
	for _, k := range seedKeys {
		wantKeys = append(wantKeys, kmsbackend.KeyRef{ID: k.ID, ARN: arn(k.ID)})
		for _, a := range k.Aliases {
			wantAliases = append(wantAliases, kmsbackend.Alias{Name: a, TargetKeyID: k.ID})
		}
	}
	nAliases := len(wantAliases) // 10 standard + extraAliases
	tests := []struct {
		name                    string
		keysLimit, aliasesLimit int32
		wantKeyPages            int
		wantAliasPages          int
	}{
		{"all in one page at the service maximums", 1000, 100, 1, 1},
		{"every key and alias across pages of 3", 3, 3, (len(seedKeys) + 2) / 3, (nAliases + 2) / 3},
		{"every alias across pages of 50 (the dev KMS default)", 1000, 50, 1, (nAliases + 49) / 50},
		{"every key across pages of 1", 1, 100, len(seedKeys), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &countingAPI{kmsAPI: f.b.api}
			b := newWithAPI(api, nil, f.b.opts)
			b.keysPageLimit, b.aliasesPageLimit = tt.keysLimit, tt.aliasesLimit

			keys, err := b.ListKeys(context.Background())
			require.NoError(t, err)
			assert.ElementsMatch(t, wantKeys, keys)
			assert.Len(t, keys, len(seedKeys))
			assert.Equal(t, tt.wantKeyPages, api.listKeys)

			aliases, err := b.ListAliases(context.Background())
			require.NoError(t, err)
			assert.ElementsMatch(t, wantAliases, aliases)
			assert.Equal(t, tt.wantAliasPages, api.listAliases)
		})
	}
}

func TestListKeysEmpty(t *testing.T) {
	srv, err := devkms.Start(context.Background(), devkms.Options{})
	require.NoError(t, err)
	defer srv.Close()
	b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL(), Anonymous: true})
	require.NoError(t, err)
	defer b.Close()

	keys, err := b.ListKeys(context.Background())
	require.NoError(t, err)
	assert.Empty(t, keys)
	aliases, err := b.ListAliases(context.Background())
	require.NoError(t, err)
	assert.Empty(t, aliases)
}

// rawClient is an SDK client on the dev KMS for test set-up steps the
// backend does not offer (tagging, disabling, encrypting).
func rawClient(url string) *kms.Client {
	return kms.New(kms.Options{
		Region:       devkms.DefaultRegion,
		BaseEndpoint: awssdk.String(url),
		Credentials:  awssdk.AnonymousCredentials{},
	})
}
