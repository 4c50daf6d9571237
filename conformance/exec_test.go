package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// defaultTimeout bounds every client command unless Cmd.Timeout says otherwise.
const defaultTimeout = 2 * time.Minute

// Cmd is one client command line with its environment.
type Cmd struct {
	Args    []string      // program and arguments
	Env     []string      // KEY=VALUE added to (overriding) the process environment
	Stdin   string        // standard input ("" for /dev/null)
	Dir     string        // working directory ("" for the package directory)
	Timeout time.Duration // 0 for defaultTimeout; on expiry the process group is killed
}

// Result is what a command did.
type Result struct {
	Stdout, Stderr string
	Combined       string // stdout and stderr interleaved as written
	Code           int    // exit status; -1 when killed or not started
	TimedOut       bool
	Err            error // nil when the command exited 0
	Elapsed        time.Duration
}

// Line returns the command line as a shell would take it, environment first.
func (c Cmd) Line() string {
	parts := make([]string, 0, len(c.Env)+len(c.Args))
	for _, kv := range c.Env {
		parts = append(parts, shellQuote(kv))
	}
	for _, a := range c.Args {
		parts = append(parts, shellQuote(a))
	}
	line := strings.Join(parts, " ")
	if c.Dir != "" {
		line = "(cd " + shellQuote(c.Dir) + " && " + line + ")"
	}
	return line
}

// Try runs the command and returns what happened without judging it.
func (c Cmd) Try(t *testing.T) Result {
	t.Helper()
	timeout := c.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.Stdin = strings.NewReader(c.Stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	comb := &lockedBuffer{}
	cmd.Stdout = multiWriter{&stdout, comb}
	cmd.Stderr = multiWriter{&stderr, comb}
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Combined: comb.String(), Code: -1, Err: err,
		Elapsed: time.Since(start), TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	if r.TimedOut && r.Err == nil {
		r.Err = fmt.Errorf("timed out after %v", timeout)
	}
	return r
}

// Run runs the command and fails the test, printing the exact command line,
// its combined output and the module's recent log, unless it exits 0.
func (c Cmd) Run(t *testing.T) Result {
	t.Helper()
	r := c.Try(t)
	if r.Err != nil {
		t.Fatalf("%s", describeFailure(c, r, "command failed"))
	}
	return r
}

// describeFailure formats a failed command for the test log.
func describeFailure(c Cmd, r Result, what string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v (exit %d, %v)\n$ %s\n%s", what, r.Err, r.Code, r.Elapsed.Round(time.Millisecond), c.Line(), r.Combined)
	if tail := moduleLogTail(10); tail != "" {
		fmt.Fprintf(&b, "\n--- last lines of the module log %s ---\n%s", env.ModuleLog, tail)
	}
	return b.String()
}

// run runs args with the suite's environment, fails the test on a non-zero
// exit (printing the command line and its combined output) and returns the
// combined output.
func run(t *testing.T, args ...string) string {
	t.Helper()
	return Cmd{Args: args}.Run(t).Combined
}

// runStdout is run, returning only standard output (for tools that write
// keys or signatures to stdout).
func runStdout(t *testing.T, args ...string) string {
	t.Helper()
	return Cmd{Args: args}.Run(t).Stdout
}

// requireTool fails (strict mode) or skips the check when a program is not on PATH.
func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			failOrSkip(t, "%s is not installed", n)
		}
	}
}

// moduleLogTail returns the last n lines of the module's log file.
func moduleLogTail(n int) string {
	if env == nil || env.ModuleLog == "" {
		return ""
	}
	b, err := os.ReadFile(env.ModuleLog)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lockedBuffer is a bytes.Buffer safe for the two writers of one command.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// multiWriter writes to a private buffer and the shared combined buffer.
type multiWriter struct {
	own  *bytes.Buffer
	comb *lockedBuffer
}

// Write writes p to both buffers.
func (m multiWriter) Write(p []byte) (int, error) {
	m.own.Write(p)
	return m.comb.Write(p)
}
