// Command p11kms is the companion CLI of the p11kms PKCS#11 module: the dev
// KMS server, key creation, and (from other files) key listing,
// certificates, diagnostics and ceremonies.
//
// Each subcommand lives in its own file and registers itself from an init
// function with register(command{...}). A subcommand writes its results to
// stdout and everything else (logs, errors, usage) to stderr, through the
// package variables below so tests can run it in-process.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// command is one subcommand of p11kms.
type command struct {
	// name is the word that selects it: `p11kms NAME ARGS...`.
	name string
	// summary is the one line `p11kms help` shows.
	summary string
	// run executes it with the arguments after its name and returns the
	// exit status: 0 success, 1 failure, 2 usage error.
	run func(args []string) int
}

// commands is the subcommand table, filled by register.
var commands = map[string]command{}

// register adds a subcommand to the table; each subcommand's file calls it
// from init. Registering a name twice is a programming error reported at
// start-up.
func register(c command) {
	if _, dup := commands[c.name]; dup || c.name == "" || c.run == nil {
		panic(fmt.Sprintf("p11kms: bad or duplicate subcommand registration %q", c.name))
	}
	commands[c.name] = c
}

// Output streams of every subcommand; tests replace them.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain dispatches args to a subcommand and returns the exit status.
func runMain(args []string) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "p11kms: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(args[1:])
}

// usage lists the subcommands, sorted by name.
func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	fmt.Fprintf(w, "Usage: p11kms COMMAND [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n\nRun `p11kms COMMAND --help` for a command's flags.\n", width, "help", "show this list")
}

// newLogger returns a text logger on stderr at the named level (debug,
// info, warn, error).
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}
