package token

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
)

// newAWSBackend is the default BackendFactory: an AWS KMS client with the
// standard credential chain of aws-sdk-go-v2/config.
func newAWSBackend(ctx context.Context, t TokenConfig, log *slog.Logger) (kmsbackend.Backend, error) {
	b, err := aws.New(ctx, aws.Options{
		Region:      t.Region,
		Profile:     t.Profile,
		Endpoint:    t.Endpoint,
		Anonymous:   t.Anonymous,
		CallTimeout: t.CallTimeout.or(defaultCallTimeout),
		MaxAttempts: t.MaxAttempts, // 0: the backend's default
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	return b, nil
}
