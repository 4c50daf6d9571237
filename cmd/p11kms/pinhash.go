package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/p11kms/p11kms/token"
)

func init() {
	register(command{name: "pin-hash", summary: "hash a user PIN for a token's `pin:` setting (reads the PIN from stdin)", run: runPINHash})
}

// stdin is the PIN source; a variable so tests can replace it.
var stdin = bufio.NewReader(os.Stdin)

// runPINHash reads one line (the PIN) from standard input and prints its salted
// PBKDF2 hash in the form the configuration's `pin:` field takes. The PIN is
// never written anywhere.
func runPINHash(args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: p11kms pin-hash < pinfile   (the PIN is the first line of standard input)")
		return 2
	}
	line, err := stdin.ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(stderr, "p11kms pin-hash: no PIN on standard input")
		return 1
	}
	pin := strings.TrimRight(line, "\r\n")
	h, err := token.HashPIN(pin)
	if err != nil {
		fmt.Fprintf(stderr, "p11kms pin-hash: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}
