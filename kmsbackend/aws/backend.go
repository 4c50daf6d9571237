// Package aws implements kmsbackend.Backend (and the optional KeyCreator and
// KeyDeleter) on AWS KMS with aws-sdk-go-v2: credentials from the SDK's
// standard chain, the SDK's standard retryer with a per-attempt timeout
// (retry.go), a bounded time per call, and
// every failure classified into a kmsbackend.ErrorKind (errors.go).
package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
)

// Backend is an AWS KMS backend. It is safe for concurrent use.
type Backend struct {
	api   kmsAPI
	http  *http.Client
	conns *connTracker
	opts  Options
	log   *slog.Logger

	// Page sizes for ListKeys and ListAliases: the service maximums (AWS
	// KMS API reference, ListKeys/ListAliases Limit). Tests lower them.
	keysPageLimit, aliasesPageLimit int32
}

var (
	_ kmsbackend.Backend    = (*Backend)(nil)
	_ kmsbackend.KeyCreator = (*Backend)(nil)
	_ kmsbackend.KeyDeleter = (*Backend)(nil)
)

// New returns a Backend configured by o. Credentials come from the SDK's
// default chain (environment, shared config/profile, SSO, web identity,
// container and instance roles), unless o.Anonymous. ctx bounds loading
// the configuration only.
func New(ctx context.Context, o Options) (*Backend, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindInvalidRequest, Op: "New", Err: err}
	}
	conns := newConnTracker()
	loadOpts := append([]func(*config.LoadOptions) error{
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(conns.configure)),
		config.WithAppID("p11kms"),
	}, retryLoadOptions(o)...) // retry.go: the SDK standard retryer, per-attempt timeouts
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Anonymous {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(awssdk.AnonymousCredentials{}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		kind := kmsbackend.KindUnknown
		var noProfile config.SharedConfigProfileNotExistError
		if errors.As(err, &noProfile) {
			kind = kmsbackend.KindAccessDenied // the credential chain cannot start
		}
		return nil, &kmsbackend.Error{Kind: kind, Op: "LoadConfig", Err: err}
	}
	if cfg.Region == "" && !o.Anonymous {
		// SigV4 signs for a region, and the AWS endpoint is per region.
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindInvalidRequest, Op: "New",
			Err: errors.New("no AWS region: set the token's region, AWS_REGION or a profile's region")}
	}
	// The loader may have customised the buildable client (AWS_CA_BUNDLE);
	// freeze it into the *http.Client whose idle connections Close releases.
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		return nil, fmt.Errorf("kms: unexpected SDK HTTP client %T", cfg.HTTPClient)
	}
	httpClient, ok := bc.Freeze().(*http.Client)
	if !ok {
		return nil, fmt.Errorf("kms: unexpected frozen SDK HTTP client type")
	}
	cfg.HTTPClient = httpClient
	if !o.Anonymous && cfg.Credentials != nil {
		cfg.Credentials = credentialsMarker{cfg.Credentials}
	}
	client := kms.NewFromConfig(cfg, func(ko *kms.Options) {
		if o.Endpoint != "" {
			ko.BaseEndpoint = awssdk.String(o.Endpoint)
		}
	})
	b := newWithAPI(client, httpClient, o)
	b.conns = conns
	return b, nil
}

// newWithAPI builds a Backend around any kmsAPI (o already defaulted).
func newWithAPI(api kmsAPI, hc *http.Client, o Options) *Backend {
	return &Backend{api: api, http: hc, opts: o, log: o.Logger, keysPageLimit: 1000, aliasesPageLimit: 100}
}

// Close closes every connection the Backend opened, idle or not. The Backend
// must not be used afterwards.
func (b *Backend) Close() error {
	if b.http != nil {
		b.http.CloseIdleConnections()
	}
	if b.conns != nil {
		b.conns.closeAll()
	}
	return nil
}

// call runs one KMS operation under ctx bounded by the call timeout,
// classifies its error and logs one line (never inputs or outputs).
func call[T any](ctx context.Context, b *Backend, op string, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
	defer cancel()
	start := time.Now()
	out, err := fn(ctx)
	if err != nil {
		cerr := classify(op, err)
		b.log.Debug("kms call failed", "op", op, "kind", cerr.Kind.String(), "code", cerr.Code, "dur", time.Since(start), "err", err)
		return out, cerr
	}
	b.log.Debug("kms call", "op", op, "dur", time.Since(start))
	return out, nil
}

// credentialsMarker wraps the credential chain so that a failure to obtain
// credentials is recognisable (credentialsError) once the SDK has wrapped it.
type credentialsMarker struct{ awssdk.CredentialsProvider }

// Retrieve implements aws.CredentialsProvider.
func (c credentialsMarker) Retrieve(ctx context.Context) (awssdk.Credentials, error) {
	creds, err := c.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return creds, &credentialsError{err}
	}
	return creds, nil
}

// credentialsError is a failure of the credential chain.
type credentialsError struct{ err error }

// Error implements error.
func (e *credentialsError) Error() string { return "no usable AWS credentials: " + e.err.Error() }

// Unwrap returns the chain's error.
func (e *credentialsError) Unwrap() error { return e.err }
