package token

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ConfigEnv names the environment variable holding the configuration file's path.
const ConfigEnv = "P11KMS_CONFIG"

// DefaultTokenLabel is the label of the one token used when no configuration is given.
const DefaultTokenLabel = "p11kms"

// Config is the module configuration (README "Configuration" is its reference).
type Config struct {
	Log    LogConfig     `yaml:"log"`
	Tokens []TokenConfig `yaml:"tokens"`
}

// LogConfig says where the module logs and how much.
type LogConfig struct {
	// Level is debug, info, warn or error (default warn).
	Level string `yaml:"level"`
	// File is a path to append log lines to; empty means stderr. Never stdout.
	File string `yaml:"file"`
}

// TokenConfig describes one token: one slot, one KMS region/account view, one key selection.
type TokenConfig struct {
	// Label is the token label (CK_TOKEN_INFO.label, at most 32 bytes), required and unique.
	Label string `yaml:"label"`
	// Region is the AWS region; empty uses the SDK's default chain (AWS_REGION, profile).
	Region string `yaml:"region"`
	// Profile is an AWS shared-config profile; empty uses the default chain.
	Profile string `yaml:"profile"`
	// Endpoint overrides the KMS endpoint URL (dev KMS, VPC or FIPS endpoints).
	Endpoint string `yaml:"endpoint"`
	// Anonymous sends unsigned requests; only allowed for a loopback endpoint (the dev KMS).
	Anonymous bool `yaml:"anonymous"`
	// Keys selects the keys the token shows; empty selects every key.
	Keys KeySelection `yaml:"keys"`
	// PIN is an optional user PIN hash (see HashPIN); empty means no login is needed.
	PIN string `yaml:"pin"`
	// MaxPINAttempts locks the token after that many consecutive wrong PINs (default 10).
	MaxPINAttempts int `yaml:"max_pin_attempts"`
	// CallTimeout bounds each KMS call, retries included (default 10s).
	CallTimeout Duration `yaml:"call_timeout"`
	// MaxAttempts is how many times one KMS call may be tried (throttling and
	// transient errors are retried with jittered backoff within CallTimeout; default 5).
	MaxAttempts int `yaml:"max_attempts"`
	// CacheTTL is how long the discovered key list is reused before it is refreshed (default 5m).
	CacheTTL Duration `yaml:"cache_ttl"`
	// Certificates attaches certificate files to keys (served as CKO_CERTIFICATE objects).
	Certificates []CertificateConfig `yaml:"certificates"`

	certs []loadedCert // parsed Certificates, filled by validate
}

// KeySelection chooses keys: the union of IDs, ARNs, Aliases and AliasPrefixes
// (every key when all four are empty), then filtered by Tags (all must match).
type KeySelection struct {
	IDs           []string          `yaml:"ids"`
	ARNs          []string          `yaml:"arns"`
	Aliases       []string          `yaml:"aliases"`
	AliasPrefixes []string          `yaml:"alias_prefixes"`
	Tags          map[string]string `yaml:"tags"`
}

// all reports whether the selection names no key explicitly (so every key is a candidate).
func (s KeySelection) all() bool {
	return len(s.IDs)+len(s.ARNs)+len(s.Aliases)+len(s.AliasPrefixes) == 0
}

// Duration is a time.Duration written in YAML as a Go duration string ("10s", "5m").
type Duration time.Duration

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration like 10s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// or returns d, or def when d is zero.
func (d Duration) or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// maxConfigSize bounds a configuration file or pReserved string.
const maxConfigSize = 1 << 20

// ParseConfig parses and validates a YAML configuration. Unknown fields are
// errors that name the field and line.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("configuration is larger than %d bytes", maxConfigSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return &c, nil
}

// validate checks every field and fills defaults.
func (c *Config) validate() error {
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "warning", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	if len(c.Tokens) == 0 {
		return errors.New("tokens: at least one token is required")
	}
	seen := map[string]bool{}
	for i := range c.Tokens {
		t := &c.Tokens[i]
		field := fmt.Sprintf("tokens[%d]", i)
		switch {
		case strings.TrimSpace(t.Label) == "":
			return fmt.Errorf("%s.label: required", field)
		case len(t.Label) > 32:
			return fmt.Errorf("%s.label: %q is longer than 32 bytes", field, t.Label)
		case seen[t.Label]:
			return fmt.Errorf("%s.label: %q is used by another token", field, t.Label)
		case t.MaxPINAttempts < 0:
			return fmt.Errorf("%s.max_pin_attempts: must not be negative", field)
		case t.MaxAttempts < 0 || t.MaxAttempts > 20:
			return fmt.Errorf("%s.max_attempts: must be from 1 to 20 (0 for the default)", field)
		}
		seen[t.Label] = true
		if t.PIN != "" {
			if _, err := parsePINHash(t.PIN); err != nil {
				return fmt.Errorf("%s.pin: %w (make one with `p11kms pin-hash`)", field, err)
			}
		}
		if t.Anonymous && t.Endpoint == "" {
			return fmt.Errorf("%s.anonymous: needs a loopback endpoint (the dev KMS)", field)
		}
		certs, err := loadCertificates(field, t.Certificates)
		if err != nil {
			return err
		}
		t.certs = certs
		for k := range t.Keys.Tags {
			if k == "" {
				return fmt.Errorf("%s.keys.tags: empty tag key", field)
			}
		}
	}
	return nil
}

// defaultConfig is used when neither pReserved nor P11KMS_CONFIG gives one:
// one token with every key of the SDK's default region and credentials.
func defaultConfig() *Config {
	return &Config{Tokens: []TokenConfig{{Label: DefaultTokenLabel}}}
}

// loadConfig finds the configuration: a YAML mapping with a "tokens" key passed
// in pReserved (NSS and libp11 pass other strings there, which are ignored),
// else the file named by P11KMS_CONFIG, else the default. It returns where
// the configuration came from, for the log.
func loadConfig(reserved string, getenv func(string) string) (*Config, string, error) {
	if looksLikeConfig(reserved) {
		c, err := ParseConfig([]byte(reserved))
		return c, "pReserved", err
	}
	if path := getenv(ConfigEnv); path != "" {
		data, err := readConfigFile(path)
		if err != nil {
			return nil, path, err
		}
		c, err := ParseConfig(data)
		if err != nil {
			return nil, path, fmt.Errorf("%s: %w", path, err)
		}
		return c, path, nil
	}
	return defaultConfig(), "defaults", nil
}

// looksLikeConfig reports whether a pReserved string is a p11kms configuration.
func looksLikeConfig(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	var probe map[string]any
	if err := yaml.Unmarshal([]byte(s), &probe); err != nil {
		return false
	}
	_, ok := probe["tokens"]
	return ok
}

// readConfigFile reads the configuration file, refusing a world-writable one
// (anyone could point the module at other keys or endpoints).
func readConfigFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", ConfigEnv, path, err)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return nil, fmt.Errorf("%s: configuration file is world-writable (mode %v); refusing it: chmod o-w it", path, fi.Mode().Perm())
	}
	if fi.Size() > maxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfigSize)
	}
	return os.ReadFile(path)
}
