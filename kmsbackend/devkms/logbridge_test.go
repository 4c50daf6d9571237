package devkms

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
)

func TestLogBridge(t *testing.T) {
	tests := []struct {
		name  string
		level logrus.Level
		msg   string
		want  string
		not   string
	}{
		{"info forwarded at debug", logrus.InfoLevel, "3 keys listed", "level=DEBUG msg=\"local-kms: 3 keys listed\"", ""},
		{"error forwarded at warn", logrus.ErrorLevel, "boom", "level=WARN msg=\"local-kms: boom\"", ""},
		{"quoted input redacted", logrus.WarnLevel, "1 validation error detected: Value 'top secret plaintext' at 'Message' failed to satisfy constraint", "Value '[redacted]' at 'Message'", "top secret"},
		{"long message truncated", logrus.ErrorLevel, strings.Repeat("x", 500), strings.Repeat("x", maxForwardedLog) + "...", strings.Repeat("x", maxForwardedLog+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := newLogrusBridge(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
			l.Log(tt.level, tt.msg)
			assert.Contains(t, buf.String(), tt.want)
			if tt.not != "" {
				assert.NotContains(t, buf.String(), tt.not)
			}
		})
	}
	t.Run("nothing below warn reaches a logger at info", func(t *testing.T) {
		var buf bytes.Buffer
		l := newLogrusBridge(slog.New(slog.NewTextHandler(&buf, nil)))
		l.Info("3 keys listed")
		l.Warn("not found")
		assert.Empty(t, buf.String())
	})
}
