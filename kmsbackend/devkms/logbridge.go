package devkms

import (
	"context"
	"io"
	"log/slog"
	"regexp"

	"github.com/sirupsen/logrus"
)

// maxForwardedLog caps the length of a forwarded local-kms log message.
const maxForwardedLog = 200

// quotedInput matches the request input local-kms quotes in validation
// messages ("Value '<input>' at 'Message' failed ..."): it may be plaintext
// and never reaches the log.
var quotedInput = regexp.MustCompile(`(?s)Value '.*' at '`)

// newLogrusBridge returns a logrus logger for local-kms's handlers that
// writes nothing itself (never stdout) and forwards entries to log.
// local-kms logs every request at info and every client mistake at warn,
// both forwarded at debug; its errors are forwarded at warn.
func newLogrusBridge(log *slog.Logger) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, DisableTimestamp: true})
	l.SetLevel(logrus.ErrorLevel)
	if log.Enabled(context.Background(), slog.LevelDebug) {
		l.SetLevel(logrus.InfoLevel)
	}
	l.AddHook(slogHook{log: log})
	return l
}

// slogHook forwards logrus entries to a slog.Logger.
type slogHook struct{ log *slog.Logger }

// Levels implements logrus.Hook: every level.
func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	if e.Level <= logrus.ErrorLevel {
		level = slog.LevelWarn
	}
	msg := quotedInput.ReplaceAllString(e.Message, "Value '[redacted]' at '")
	if len(msg) > maxForwardedLog {
		msg = msg[:maxForwardedLog] + "..."
	}
	h.log.Log(context.Background(), level, "local-kms: "+msg)
	return nil
}
