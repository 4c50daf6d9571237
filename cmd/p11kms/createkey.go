package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	kmsaws "github.com/p11kms/p11kms/kmsbackend/aws"
)

func init() {
	register(command{name: "create-key", summary: "create a KMS key (and alias); prints its ARN", run: runCreateKey})
}

// tagFlags collects repeated --tag KEY=VALUE flags.
type tagFlags map[string]string

// String implements flag.Value.
func (t tagFlags) String() string { return fmt.Sprint(map[string]string(t)) }

// Set implements flag.Value.
func (t tagFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	t[k] = v
	return nil
}

// runCreateKey creates a key with the AWS backend and prints its ARN, the
// only line on stdout.
func runCreateKey(args []string) int {
	fs := flag.NewFlagSet("create-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "KMS endpoint `URL` (default: the region's AWS endpoint)")
	region := fs.String("region", "", "AWS `region` (default: from the environment/shared config)")
	profile := fs.String("profile", "", "shared config `profile`")
	anonymous := fs.Bool("anonymous", false, "send unsigned requests (dev KMS on loopback only)")
	spec := fs.String("spec", "", "key `spec`, e.g. RSA_4096, ECC_NIST_P256, ML_DSA_65, SM2 (required)")
	usage := fs.String("usage", "SIGN_VERIFY", "key `usage`: SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT")
	alias := fs.String("alias", "", "alias `name` to point at the key (\"alias/\" is added when missing)")
	description := fs.String("description", "", "key `description`")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit for each KMS call")
	logLevel := fs.String("log-level", "warn", "log `level` on stderr: debug, info, warn, error")
	tags := tagFlags{}
	fs.Var(tags, "tag", "tag `KEY=VALUE` (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: p11kms create-key --spec SPEC [flags]\n\nCreates a KMS key and prints its ARN.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ks := kmsbackend.ParseKeySpec(*spec)
	ku := kmsbackend.ParseKeyUsage(*usage)
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "p11kms create-key: unexpected argument %q\n", fs.Arg(0))
		return 2
	case ks == kmsbackend.SpecUnknown:
		fmt.Fprintf(stderr, "p11kms create-key: --spec %q is not a KMS key spec (e.g. RSA_4096, ECC_NIST_P256)\n", *spec)
		return 2
	case ku == kmsbackend.UsageUnknown:
		fmt.Fprintf(stderr, "p11kms create-key: --usage %q is not a KMS key usage\n", *usage)
		return 2
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "p11kms create-key: %v\n", err)
		return 2
	}

	ctx := context.Background()
	b, err := kmsaws.New(ctx, kmsaws.Options{Region: *region, Profile: *profile, Endpoint: *endpoint, Anonymous: *anonymous, CallTimeout: *timeout, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "p11kms create-key: %v\n", err)
		return 1
	}
	defer b.Close()
	info, err := b.CreateKey(ctx, ks, ku, *alias, *description, tags)
	if err != nil {
		fmt.Fprintf(stderr, "p11kms create-key: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, info.ARN)
	return 0
}
