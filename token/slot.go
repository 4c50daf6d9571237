package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
)

// slot is one configured token and its slot: the backend, the login state and
// the discovered keys.
type slot struct {
	id      uint
	cfg     TokenConfig
	backend kmsbackend.Backend
	log     *slog.Logger
	pin     *pinHash // nil: no PIN configured
	serial  string

	loginMu      sync.Mutex
	loggedIn     bool // CKU_USER logged in (application-wide, PKCS#11 2.40 §5.6)
	failedLogins int

	keys keyCache
}

// Defaults for TokenConfig fields.
const (
	defaultCallTimeout    = 10 * time.Second
	defaultCacheTTL       = 5 * time.Minute
	defaultMaxPINAttempts = 10
)

func newSlot(ctx context.Context, id uint, tc TokenConfig, nb BackendFactory, log *slog.Logger) (*slot, error) {
	s := &slot{id: id, cfg: tc, log: log.With("token", tc.Label), serial: tokenSerial(tc)}
	if tc.PIN != "" {
		h, err := parsePINHash(tc.PIN)
		if err != nil {
			return nil, fmt.Errorf("pin: %w", err)
		}
		s.pin = h
	}
	b, err := nb(ctx, tc, s.log)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	s.backend = b
	s.keys.init(s)
	return s, nil
}

// close releases the backend's connections.
func (s *slot) close() {
	if err := s.backend.Close(); err != nil {
		s.log.Warn("closing the KMS client", "err", err)
	}
}

// tokenSerial derives a stable 16-character serial number from what
// identifies the token (label, region, profile, endpoint), so clients that
// select tokens by RFC 7512 URI (serial=...) find the same token every run.
func tokenSerial(tc TokenConfig) string {
	sum := sha256.Sum256([]byte(tc.Label + "\x00" + tc.Region + "\x00" + tc.Profile + "\x00" + tc.Endpoint))
	return hex.EncodeToString(sum[:8])
}

// callContext bounds one remote call by the token's call timeout and the
// module's lifetime.
func (s *slot) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.cfg.CallTimeout.or(defaultCallTimeout))
}

// maxPINAttempts is the number of consecutive wrong PINs that lock the token.
func (s *slot) maxPINAttempts() int {
	if s.cfg.MaxPINAttempts > 0 {
		return s.cfg.MaxPINAttempts
	}
	return defaultMaxPINAttempts
}
