#!/usr/bin/env bash
# test.sh — every test stage of p11kms, in order, failing fast (what `make test` and CI run).
#
# Stages: go vet; pure-Go unit tests under -race; C-ABI tests against the built
# build/libp11kms.so; real-client conformance tests (when conformance/ has any).
# One summary line per stage with its duration goes to stderr; the exit status
# is non-zero as soon as a stage fails. `make test` builds the library first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin

# Strict mode for the test code (cgo/cabitest reads CI): a test that needs the
# built library or a client tool must fail, never skip, when it is missing.
export CI=true

summary=()
start_all=$(date +%s)

note() { printf 'test: %s\n' "$*" >&2; }

finish() {
	local rc=$1
	note "---- summary ----"
	local line
	for line in "${summary[@]}"; do note "$line"; done
	note "total $(($(date +%s) - start_all))s: $([[ $rc -eq 0 ]] && echo PASS || echo FAIL)"
	exit "$rc"
}

# stage NAME CMD... runs one stage, records "PASS|FAIL NAME (Ns)", stops on failure.
stage() {
	local name=$1
	shift
	note "==== ${name}: $*"
	local t0 rc=0
	t0=$(date +%s)
	"$@" || rc=$?
	local line
	line=$(printf '%-4s %-12s %4ss' "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" "$name" "$(($(date +%s) - t0))")
	summary+=("$line")
	note "$line"
	((rc == 0)) || finish "$rc"
}

# cabi_tests runs the C-ABI tests; the library must exist (never a silent skip).
# shellcheck disable=SC2317 # called through stage
cabi_tests() {
	if [[ ! -f build/libp11kms.so ]]; then
		note "build/libp11kms.so is missing: run 'make build' (make test does it for you)"
		return 1
	fi
	if [[ -z $(find cgo -name '*_test.go' -print -quit) ]]; then
		note "cgo/ has no *_test.go: the C-ABI tests are required"
		return 1
	fi
	go test -count=1 -timeout 15m ./cgo/...
}

stage vet go vet ./...
stage unit go test -race -count=1 ./ck/... ./internal/... ./token/... ./mechanisms/... ./kmsbackend/... ./cmd/...
# The 10,000-signature fault-tolerance run (token/reliability_volume_test.go)
# runs 1,000 under -race above; here, without the race detector, 10,000.
stage reliability go test -count=1 -run TestSignaturesSurviveTenPercentTransientFaults ./token
stage c-abi cabi_tests

if [[ -n $(find conformance -name '*_test.go' -print -quit 2>/dev/null) ]]; then
	# Run from inside the package so go test streams the suite's output, which
	# ends with its one line "N passed, N failed, N skipped".
	stage conformance bash -c 'cd conformance && go test -count=1 -timeout 20m && go test -count=1 ./compatreadme'
	stage compat-table go run ./conformance/compatreadme
else
	summary+=("$(printf '%-4s %-12s %5s' none conformance '(no tests in conformance/)')")
	note "==== conformance: no *_test.go in conformance/ yet, nothing to run"
fi

finish 0
