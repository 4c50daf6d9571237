package token

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/p11kms/p11kms/ck"
)

// defaultLogger is used before C_Initialize and after C_Finalize: warnings to stderr.
func defaultLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("module", "p11kms")
}

// newLogger builds the configured logger; the returned function closes its file.
// Logs never go to stdout: clients write signatures there.
func newLogger(c LogConfig) (*slog.Logger, func() error, error) {
	level := slog.LevelWarn
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "error":
		level = slog.LevelError
	}
	var w io.Writer = os.Stderr
	closeFn := func() error { return nil }
	if c.File != "" {
		f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("file: %w", err)
		}
		w, closeFn = f, f.Close
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("module", "p11kms", "pid", os.Getpid()), closeFn, nil
}

// routineRVs are outcomes that are part of normal use (size probing, feature
// probing, a caller checking a signature): logged at debug level only.
var routineRVs = map[uint]bool{
	ck.CKR_BUFFER_TOO_SMALL:               true,
	ck.CKR_SIGNATURE_INVALID:              true,
	ck.CKR_MECHANISM_INVALID:              true, // Java probes ~70 mechanisms per load
	ck.CKR_ATTRIBUTE_TYPE_INVALID:         true,
	ck.CKR_ATTRIBUTE_SENSITIVE:            true,
	ck.CKR_USER_ALREADY_LOGGED_IN:         true,
	ck.CKR_USER_NOT_LOGGED_IN:             true,
	ck.CKR_CRYPTOKI_ALREADY_INITIALIZED:   true,
	ck.CKR_FUNCTION_NOT_SUPPORTED:         true,
	ck.CKR_RANDOM_SEED_NOT_SUPPORTED:      true,
	ck.CKR_OPERATION_NOT_INITIALIZED:      true,
	ck.CKR_CRYPTOKI_NOT_INITIALIZED:       true,
	ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED: true,
}

// seriousRVs are failures of the module or the service, logged as errors.
var seriousRVs = map[uint]bool{
	ck.CKR_DEVICE_ERROR:    true,
	ck.CKR_GENERAL_ERROR:   true,
	ck.CKR_FUNCTION_FAILED: true,
	ck.CKR_DEVICE_MEMORY:   true,
	ck.CKR_HOST_MEMORY:     true,
}

// LogResult logs the outcome of one C_ call once, at the C boundary: routine
// outcomes at debug level, module and service failures at error, others at warn.
func (m *Module) LogResult(fn string, err error) {
	m.mu.RLock()
	log := m.log
	m.mu.RUnlock()
	if err == nil {
		log.Debug("call", "fn", fn, "rv", "CKR_OK")
		return
	}
	rv := ck.RV(err)
	ok, suppressed := m.logLimit.allow(fn, rv)
	if suppressed > 0 {
		log.Warn("similar lines suppressed", "fn", fn, "rv", ck.RVName(rv), "count", suppressed, "window", logWindowLen.String())
	}
	if !ok {
		return
	}
	level := slog.LevelWarn
	switch {
	case routineRVs[rv]:
		level = slog.LevelDebug
	case seriousRVs[rv]:
		level = slog.LevelError
	}
	log.Log(context.Background(), level, "call failed", "fn", fn, "rv", ck.RVName(rv), "reason", err.Error())
}

// Logger returns the module's current logger (for cgo's panic reports).
func (m *Module) Logger() *slog.Logger {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.log
}
