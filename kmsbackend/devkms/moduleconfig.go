package devkms

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// moduleConfigTemplate is the p11kms module configuration for one token
// that selects every key of a dev KMS (no `keys:` selection = every key).
const moduleConfigTemplate = `# p11kms module configuration written by ` + "`p11kms devkms`" + ` (dev KMS only).
log:
  level: warn
tokens:
  - label: %s
    region: %s
    endpoint: %s
    anonymous: true          # the dev KMS checks no signatures; refused for non-loopback endpoints
`

// WriteModuleConfig writes a module configuration with one token labelled
// label that reaches the dev KMS at url anonymously, in DefaultRegion.
func WriteModuleConfig(path, url, label string) error {
	return writeModuleConfig(path, url, label, DefaultRegion)
}

// WriteModuleConfig writes a module configuration with one token labelled
// label for this server (its URL and region).
func (s *Server) WriteModuleConfig(path, label string) error {
	return writeModuleConfig(path, s.url, label, s.region)
}

func writeModuleConfig(path, url, label, region string) error {
	if label == "" || url == "" || region == "" {
		return fmt.Errorf("devkms: module config: label, url and region must not be empty")
	}
	b := fmt.Appendf(nil, moduleConfigTemplate, yamlScalar(label), yamlScalar(region), yamlScalar(url))
	return writeFileAtomic(path, b, 0o644)
}

// plainScalar matches strings YAML reads back as the same string without
// quotes: a letter first (no number), no trailing colon, no spaces.
var plainScalar = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9._/:@-]*[A-Za-z0-9._/@-])?$`)

// yamlScalar returns s as a YAML scalar: plain when that is unambiguous,
// else double-quoted (a JSON string is a valid YAML double-quoted scalar).
func yamlScalar(s string) string {
	if plainScalar.MatchString(s) && !yamlKeyword(s) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// yamlKeyword reports plain scalars YAML 1.1 would read as booleans or null.
func yamlKeyword(s string) bool {
	switch s {
	case "true", "false", "yes", "no", "on", "off", "null", "True", "False", "Yes", "No", "On", "Off", "Null", "TRUE", "FALSE", "YES", "NO", "ON", "OFF", "NULL", "y", "n", "Y", "N":
		return true
	}
	return false
}
