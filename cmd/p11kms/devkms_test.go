package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	kmsaws "github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDevKMSServesUntilSignal(t *testing.T) {
	dir := t.TempDir()
	keys, err := devkms.GenerateSeed([]devkms.StandardKey{
		{Spec: kmsbackend.SpecECCNISTP256, Usage: kmsbackend.UsageSignVerify, Alias: "alias/cli-ec"},
		{Spec: kmsbackend.SpecRSA2048, Usage: kmsbackend.UsageSignVerify, Alias: "alias/cli-rsa"},
	})
	require.NoError(t, err)
	seed := filepath.Join(dir, "seed.yaml")
	require.NoError(t, devkms.WriteSeedFile(seed, keys))
	cfg := filepath.Join(dir, "p11kms.yaml")

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("exit 0 after "+sig.String()+" with the URL as the only stdout line", func(t *testing.T) {
			pr, pw := io.Pipe()
			errOut := &syncBuffer{}
			setOutput(t, pw, errOut)
			done := make(chan int, 1)
			go func() {
				done <- runDevKMS([]string{"--seed", seed, "--config-out", cfg})
				pw.Close()
			}()
			lines := bufio.NewScanner(pr)
			require.True(t, lines.Scan(), "a first stdout line")
			url := lines.Text()
			assert.Regexp(t, regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`), url)

			// The configuration was written before the URL, and points at it.
			var c struct {
				Tokens []struct {
					Label, Region, Endpoint string
					Anonymous               bool
				}
			}
			raw, err := os.ReadFile(cfg)
			require.NoError(t, err)
			require.NoError(t, yaml.Unmarshal(raw, &c))
			require.Len(t, c.Tokens, 1)
			assert.Equal(t, "devkms", c.Tokens[0].Label)
			assert.Equal(t, url, c.Tokens[0].Endpoint)
			assert.True(t, c.Tokens[0].Anonymous)

			// The server answers with the seeded keys.
			b, err := kmsaws.New(context.Background(), kmsaws.Options{Region: c.Tokens[0].Region, Endpoint: url, Anonymous: true})
			require.NoError(t, err)
			refs, err := b.ListKeys(context.Background())
			require.NoError(t, err)
			assert.Len(t, refs, len(keys))
			require.NoError(t, b.Close())

			require.NoError(t, syscall.Kill(os.Getpid(), sig))
			select {
			case code := <-done:
				assert.Equal(t, 0, code)
			case <-time.After(10 * time.Second):
				t.Fatal("devkms did not stop after the signal")
			}
			assert.False(t, lines.Scan(), "nothing after the URL on stdout: %q", lines.Text())
			assert.Contains(t, errOut.String(), "devkms: stopped")
		})
	}
}

func TestDevKMSFailures(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"exit 1 for a non-loopback address", []string{"--addr", "0.0.0.0:0"}, 1, "not loopback"},
		{"exit 1 for a missing seed file", []string{"--seed", "/nonexistent/seed.yaml"}, 1, "no such file"},
		{"exit 1 for an unwritable config path", []string{"--config-out", "/nonexistent/dir/p11kms.yaml"}, 1, "module configuration"},
		{"exit 2 for an unknown flag", []string{"--bogus"}, 2, "flag provided but not defined"},
		{"exit 2 for a stray argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"exit 2 for a bad log level", []string{"--log-level", "loud"}, 2, "log level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := capture(t, func() int { return runDevKMS(tt.args) })
			assert.Equal(t, tt.code, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.wantErr)
		})
	}
}
