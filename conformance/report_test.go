package conformance

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Outcome is the result of one check.
type Outcome string

// The three outcomes a check can have. A check that cannot run is a skip,
// never a pass.
const (
	Pass Outcome = "pass"
	Fail Outcome = "FAIL"
	Skip Outcome = "skip"
)

// checkResult is one registered check: a client, an operation, its outcome
// and, for a skip, why.
type checkResult struct {
	Client    string
	Operation string
	Outcome   Outcome
	Reason    string
	Note      string // measurements noteCheck attached (counts, wall time)
}

// registry holds every check of the run in registration order, the skip
// reasons recorded by skipCheck (by test name) and the client version probes.
var registry = struct {
	sync.Mutex
	checks   []checkResult
	reasons  map[string]string
	notes    map[string]string
	versions map[string]func() (string, error)
}{reasons: map[string]string{}, notes: map[string]string{}, versions: map[string]func() (string, error){}}

// registerClient declares a client program and how to ask the tool itself
// for its version (first line of its own version output). Call it from an
// init function of the client's test file; the probe runs only at report
// time and only for clients with at least one check.
func registerClient(client string, version func() (string, error)) {
	registry.Lock()
	defer registry.Unlock()
	registry.versions[client] = version
}

// check runs fn as the subtest t.Run(op) and records its outcome for client:
// pass when it succeeds, FAIL when it fails, skip (with the reason given to
// skipCheck) when it skips. It returns true only on pass. Checks may call
// t.Parallel inside fn: the outcome is recorded when the subtest completes
// (the returned bool then only says it had not failed before pausing).
func check(t *testing.T, client, op string, fn func(t *testing.T)) bool {
	t.Helper()
	ok := t.Run(op, func(t *testing.T) {
		registry.Lock()
		registry.checks = append(registry.checks, checkResult{Client: client, Operation: op})
		idx := len(registry.checks) - 1
		registry.Unlock()
		t.Cleanup(func() {
			registry.Lock()
			defer registry.Unlock()
			r := &registry.checks[idx]
			r.Note = registry.notes[t.Name()]
			switch {
			case t.Failed():
				r.Outcome = Fail
			case t.Skipped():
				r.Outcome = Skip
				r.Reason = registry.reasons[t.Name()]
				if r.Reason == "" {
					r.Reason = "skipped without a reason (use skipCheck)"
				}
			default:
				r.Outcome = Pass
			}
		})
		fn(t)
	})
	return ok
}

// skipCheck records why the current check cannot run and skips it. In
// strict mode (CI or P11KMS_TEST_STRICT set) use failOrSkip instead for
// anything the environment should provide.
func skipCheck(t *testing.T, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	registry.Lock()
	registry.reasons[t.Name()] = reason
	registry.Unlock()
	t.Skip(reason)
}

// noteCheck attaches a measurement (e.g. "10000 signatures in 6.2 s") to
// the current check; it appears in COMPAT.md and in the test log.
func noteCheck(t *testing.T, format string, args ...any) {
	t.Helper()
	note := fmt.Sprintf(format, args...)
	registry.Lock()
	registry.notes[t.Name()] = note
	registry.Unlock()
	t.Log(note)
}

// failOrSkip fails the check in strict mode and skips it otherwise: for
// prerequisites (a tool, the library) that CI must have.
func failOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if strict() {
		t.Fatalf("strict mode (CI): "+format, args...)
	}
	skipCheck(t, format, args...)
}

// strict reports whether missing prerequisites are failures (CI, make test).
func strict() bool { return os.Getenv("CI") != "" || os.Getenv("P11KMS_TEST_STRICT") != "" }

// snapshot returns a copy of the registered checks. A check whose subtest
// never finished (a timeout or panic) counts as a failure.
func snapshot() []checkResult {
	registry.Lock()
	defer registry.Unlock()
	out := slices.Clone(registry.checks)
	for i := range out {
		if out[i].Outcome == "" {
			out[i].Outcome = Fail
			out[i].Reason = "did not finish"
		}
	}
	return out
}

// counts returns how many checks passed, failed and were skipped.
func counts(cs []checkResult) (pass, fail, skip int) {
	for _, c := range cs {
		switch c.Outcome {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	return
}

// printSummary writes the measurements, the failed and skipped checks (with
// reasons) and then exactly one line "N passed, N failed, N skipped".
func printSummary(w io.Writer, cs []checkResult) {
	for _, c := range cs {
		if c.Note != "" {
			fmt.Fprintf(w, "NOTE %s: %s: %s (%s)\n", c.Client, c.Operation, c.Note, c.Outcome)
		}
	}
	for _, c := range cs {
		switch c.Outcome {
		case Fail:
			fmt.Fprintf(w, "FAIL %s: %s%s\n", c.Client, c.Operation, strings.TrimSuffix(" ("+c.Reason+")", " ()"))
		case Skip:
			fmt.Fprintf(w, "SKIP %s: %s: %s\n", c.Client, c.Operation, c.Reason)
		}
	}
	p, f, s := counts(cs)
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", p, f, s)
}

// clientVersion asks the client for its version; on error the text says so.
func clientVersion(client string) string {
	registry.Lock()
	probe := registry.versions[client]
	registry.Unlock()
	if probe == nil {
		return "(unknown: no version probe registered)"
	}
	v, err := probe()
	if err != nil {
		return fmt.Sprintf("(unknown: %v)", err)
	}
	return strings.TrimSpace(v)
}
