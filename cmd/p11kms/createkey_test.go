package main

import (
	"context"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"
	kmsaws "github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateKey(t *testing.T) {
	srv, err := devkms.Start(context.Background(), devkms.Options{})
	require.NoError(t, err)
	defer srv.Close()
	b, err := kmsaws.New(context.Background(), kmsaws.Options{Region: "us-east-1", Endpoint: srv.URL(), Anonymous: true})
	require.NoError(t, err)
	defer b.Close()

	tests := []struct {
		name      string
		args      []string
		spec      kmsbackend.KeySpec
		usage     kmsbackend.KeyUsage
		wantAlias string
		wantTags  map[string]string
	}{
		{"RSA-4096 root key created with the demo's alias", []string{"--spec", "RSA_4096", "--usage", "SIGN_VERIFY", "--alias", "CartorioDigitalRAIZ"},
			kmsbackend.SpecRSA4096, kmsbackend.UsageSignVerify, "alias/CartorioDigitalRAIZ", map[string]string{}},
		{"P-256 key created with tags and the default usage", []string{"--spec", "ECC_NIST_P256", "--alias", "alias/issuing", "--tag", "ceremony=1", "--tag", "owner=pki"},
			kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, "alias/issuing", map[string]string{"ceremony": "1", "owner": "pki"}},
		{"RSA-2048 decryption key created", []string{"--spec", "RSA_2048", "--usage", "ENCRYPT_DECRYPT", "--alias", "decrypt"},
			kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt, "alias/decrypt", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--endpoint", srv.URL(), "--anonymous", "--region", "us-east-1"}, tt.args...)
			code, out, errOut := capture(t, func() int { return runMain(append([]string{"create-key"}, args...)) })
			require.Equal(t, 0, code, errOut)
			arn := strings.TrimSuffix(out, "\n")
			assert.Regexp(t, `^arn:aws:kms:us-east-1:111122223333:key/[0-9a-f-]{36}$`, arn)
			assert.Equal(t, arn+"\n", out, "the ARN is the only stdout line")
			info, err := b.DescribeKey(context.Background(), tt.wantAlias)
			require.NoError(t, err)
			assert.Equal(t, arn, info.ARN)
			assert.Equal(t, tt.spec, info.Spec)
			assert.Equal(t, tt.usage, info.Usage)
			assert.Equal(t, tt.wantTags, info.Tags)
		})
	}
}

func TestCreateKeyFailures(t *testing.T) {
	srv, err := devkms.Start(context.Background(), devkms.Options{})
	require.NoError(t, err)
	defer srv.Close()
	dev := []string{"--endpoint", srv.URL(), "--anonymous", "--region", "us-east-1"}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"exit 2 without --spec", dev, 2, `--spec "" is not a KMS key spec`},
		{"exit 2 for an unknown spec", append(dev, "--spec", "RSA_1024"), 2, `--spec "RSA_1024"`},
		{"exit 2 for an unknown usage", append(dev, "--spec", "RSA_2048", "--usage", "SIGN"), 2, `--usage "SIGN"`},
		{"exit 2 for a malformed tag", append(dev, "--spec", "RSA_2048", "--tag", "novalue"), 2, "want KEY=VALUE"},
		{"exit 1 for anonymous access to a non-loopback endpoint", []string{"--endpoint", "https://kms.us-east-1.amazonaws.com", "--anonymous", "--region", "us-east-1", "--spec", "ECC_NIST_P256"}, 1, "anonymous access refused"},
		{"exit 1 for a usage the KMS refuses for the spec", append(dev, "--spec", "ML_DSA_65", "--usage", "ENCRYPT_DECRYPT"), 1, "kms CreateKey: invalid-request (ValidationException)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := capture(t, func() int { return runCreateKey(tt.args) })
			assert.Equal(t, tt.code, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
	t.Run("exit 1 naming the new key when the alias exists", func(t *testing.T) {
		args := append(dev, "--spec", "ECC_NIST_P256", "--alias", "dup")
		code, _, _ := capture(t, func() int { return runCreateKey(args) })
		require.Equal(t, 0, code)
		code, out, errOut := capture(t, func() int { return runCreateKey(args) })
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "was created, but its alias alias/dup was not")
		assert.Contains(t, errOut, "AlreadyExistsException")
	})
}
