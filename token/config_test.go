package token

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	goodPIN, err := hashPINWith("1234", 1000)
	require.NoError(t, err)
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring naming the field; "" = valid
		check   func(t *testing.T, c *Config)
	}{
		{name: "valid full token", yaml: `
log: {level: debug, file: /tmp/x.log}
tokens:
  - label: ca
    region: sa-east-1
    profile: prod
    endpoint: https://kms-fips.sa-east-1.amazonaws.com
    keys: {aliases: [root], alias_prefixes: [ca-], ids: [1234abcd-12ab-34cd-56ef-1234567890ab], tags: {team: pki}}
    call_timeout: 3s
    cache_ttl: 1m
    max_pin_attempts: 3
    pin: "` + goodPIN + `"
`, check: func(t *testing.T, c *Config) {
			tc := c.Tokens[0]
			assert.Equal(t, "ca", tc.Label)
			assert.Equal(t, []string{"root"}, tc.Keys.Aliases)
			assert.Equal(t, map[string]string{"team": "pki"}, tc.Keys.Tags)
			assert.Equal(t, 3*time.Second, tc.CallTimeout.or(0))
			assert.Equal(t, time.Minute, tc.CacheTTL.or(0))
			assert.False(t, tc.Keys.all())
		}},
		{name: "valid minimal token selects every key", yaml: "tokens: [{label: a}]", check: func(t *testing.T, c *Config) {
			assert.True(t, c.Tokens[0].Keys.all())
			assert.Equal(t, defaultCallTimeout, c.Tokens[0].CallTimeout.or(defaultCallTimeout))
		}},
		{name: "rejected unknown field names it", yaml: "tokens: [{label: a, regoin: x}]", wantErr: "regoin"},
		{name: "rejected unknown top-level field", yaml: "tokenz: []", wantErr: "tokenz"},
		{name: "rejected no tokens", yaml: "log: {level: info}", wantErr: "tokens: at least one"},
		{name: "rejected empty label", yaml: "tokens: [{region: x}]", wantErr: "tokens[0].label: required"},
		{name: "rejected long label", yaml: "tokens: [{label: 123456789012345678901234567890123}]", wantErr: "longer than 32"},
		{name: "rejected duplicate label", yaml: "tokens: [{label: a}, {label: a}]", wantErr: "tokens[1].label"},
		{name: "rejected bad level", yaml: "log: {level: loud}\ntokens: [{label: a}]", wantErr: "log.level"},
		{name: "rejected bad duration", yaml: "tokens: [{label: a, call_timeout: soon}]", wantErr: "not a duration"},
		{name: "rejected plain PIN", yaml: "tokens: [{label: a, pin: '1234'}]", wantErr: "tokens[0].pin"},
		{name: "rejected anonymous without endpoint", yaml: "tokens: [{label: a, anonymous: true}]", wantErr: "tokens[0].anonymous"},
		{name: "rejected negative attempts", yaml: "tokens: [{label: a, max_pin_attempts: -1}]", wantErr: "max_pin_attempts"},
		{name: "rejected too many KMS attempts", yaml: "tokens: [{label: a, max_attempts: 50}]", wantErr: "tokens[0].max_attempts"},
		{name: "rejected not yaml", yaml: "tokens: [", wantErr: "configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseConfigNeverEchoesThePINHash(t *testing.T) {
	_, err := ParseConfig([]byte("tokens: [{label: a, pin: 'pbkdf2-sha256$5$c2FsdHNhbHQ$secretsecret'}]"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secretsecret")
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("tokens: [{label: fromfile}]"), 0o600))
	open := filepath.Join(dir, "open.yaml")
	require.NoError(t, os.WriteFile(open, []byte("tokens: [{label: x}]"), 0o600))
	require.NoError(t, os.Chmod(open, 0o666))
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == ConfigEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name      string
		reserved  string
		path      string
		wantLabel string
		wantErr   string
	}{
		{name: "defaults without config", wantLabel: DefaultTokenLabel},
		{name: "file from P11KMS_CONFIG", path: good, wantLabel: "fromfile"},
		{name: "pReserved config wins over file", reserved: "tokens: [{label: fromreserved}]", path: good, wantLabel: "fromreserved"},
		{name: "NSS parameter string in pReserved is ignored", reserved: "configdir='sql:/etc/pki' certPrefix='' flags=readOnly", path: good, wantLabel: "fromfile"},
		{name: "rejected missing file", path: filepath.Join(dir, "nope.yaml"), wantErr: "no such file"},
		{name: "rejected world-writable file", path: open, wantErr: "world-writable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadConfig(tt.reserved, env(tt.path))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantLabel, c.Tokens[0].Label)
		})
	}
}
