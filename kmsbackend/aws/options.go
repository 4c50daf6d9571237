package aws

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"
)

// Defaults applied by New to zero Options fields.
const (
	// DefaultCallTimeout bounds each KMS call (retries included) when the
	// caller's context has no earlier deadline.
	DefaultCallTimeout = 10 * time.Second
	// DefaultMaxAttempts is the attempt count per call (retry.go). The SDK's
	// own default, 3, fails 0.1% of calls when 10% of requests fail
	// transiently (measured: 8 of 10,000 signatures); 5 attempts make that
	// 1e-5, and the per-attempt timeout and backoff cap keep all of them
	// within CallTimeout.
	DefaultMaxAttempts = 5
)

// Options configures New.
type Options struct {
	// Region is the AWS region; "" takes it from the environment/shared config.
	Region string
	// Profile selects a shared config profile; "" uses the default chain.
	Profile string
	// Endpoint overrides the service endpoint (dev KMS, VPC or FIPS endpoints).
	Endpoint string
	// Anonymous sends unsigned requests. Only allowed when Endpoint is on
	// loopback (127.0.0.0/8, ::1, localhost): the dev KMS.
	Anonymous bool
	// CallTimeout bounds each call; default DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxAttempts is the number of attempts per call, the first included
	// (retry.go); default DefaultMaxAttempts.
	MaxAttempts int
	// Logger receives one debug line per call and warnings; default: discard.
	Logger *slog.Logger
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate checks the endpoint and refuses Anonymous unless the endpoint's
// host is loopback: an unsigned request to a real service is a
// misconfiguration that must not silently reach the network.
func (o Options) validate() error {
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Never quote the endpoint itself: it may carry user:password@.
			return fmt.Errorf("kms endpoint is not of the form http(s)://host[:port]")
		}
	}
	if !o.Anonymous {
		return nil
	}
	if o.Endpoint == "" {
		return fmt.Errorf("anonymous access needs a loopback endpoint (the dev KMS); none given")
	}
	u, _ := url.Parse(o.Endpoint)
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("anonymous access refused for endpoint %q: only loopback endpoints (127.0.0.0/8, ::1, localhost) may be used without credentials", u.Redacted())
	}
	return nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
