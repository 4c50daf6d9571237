package devkms

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// moduleConfig is the part of the module configuration WriteModuleConfig writes.
type moduleConfig struct {
	Log struct {
		Level string `yaml:"level"`
	} `yaml:"log"`
	Tokens []struct {
		Label     string   `yaml:"label"`
		Region    string   `yaml:"region"`
		Endpoint  string   `yaml:"endpoint"`
		Anonymous bool     `yaml:"anonymous"`
		Keys      []string `yaml:"keys"`
	} `yaml:"tokens"`
}

func readModuleConfig(t *testing.T, path string) (moduleConfig, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var c moduleConfig
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	return c, string(raw)
}

func TestWriteModuleConfig(t *testing.T) {
	tests := []struct {
		name, url, label string
	}{
		{"plain label written as is", "http://127.0.0.1:41234", "devkms"},
		{"label with spaces and a colon quoted", "http://127.0.0.1:41234", "Cartório: raiz"},
		{"label that YAML would read as a boolean quoted", "http://[::1]:41234", "yes"},
		{"label that YAML would read as a number quoted", "http://localhost:41234", "1234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p11kms.yaml")
			require.NoError(t, WriteModuleConfig(path, tt.url, tt.label))
			c, raw := readModuleConfig(t, path)
			assert.Equal(t, "warn", c.Log.Level)
			require.Len(t, c.Tokens, 1)
			assert.Equal(t, tt.label, c.Tokens[0].Label)
			assert.Equal(t, DefaultRegion, c.Tokens[0].Region)
			assert.Equal(t, tt.url, c.Tokens[0].Endpoint)
			assert.True(t, c.Tokens[0].Anonymous)
			assert.Nil(t, c.Tokens[0].Keys, "no key selection: every key")
			assert.True(t, strings.HasPrefix(raw, "# p11kms module configuration written by `p11kms devkms` (dev KMS only).\n"), raw)
		})
	}
	t.Run("refused without a label", func(t *testing.T) {
		require.Error(t, WriteModuleConfig(filepath.Join(t.TempDir(), "c.yaml"), "http://127.0.0.1:1", ""))
	})
	t.Run("server config carries the server's URL and region", func(t *testing.T) {
		s, err := Start(context.Background(), Options{Region: "sa-east-1"})
		require.NoError(t, err)
		defer s.Close()
		path := filepath.Join(t.TempDir(), "p11kms.yaml")
		require.NoError(t, s.WriteModuleConfig(path, "devkms"))
		c, _ := readModuleConfig(t, path)
		assert.Equal(t, s.URL(), c.Tokens[0].Endpoint)
		assert.Equal(t, "sa-east-1", c.Tokens[0].Region)
	})
}
