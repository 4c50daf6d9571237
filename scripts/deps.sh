#!/usr/bin/env bash
# deps.sh — make a fresh Debian 12 ready to build, test and demo p11kms.
#
# Idempotent: installs only the Debian packages that are missing (one
# `apt-get update`, only when something is missing), checks that Go >= 1.26 is
# on PATH, and fetches the Go modules listed in go.mod. Needs root only when a
# package is missing. One short line per step on stderr; nothing on stdout.
set -euo pipefail

# Debian packages: the PKCS#11 clients the demo and the conformance tests drive,
# plus the C toolchain cgo needs. openssl converts and verifies in the demo.
PACKAGES=(opensc softhsm2 p11-kit gnutls-bin libengine-pkcs11-openssl libnss3-tools
	python3-pykcs11 python3-cryptography nginx openssl gcc make)
GO_MIN_MAJOR=1
GO_MIN_MINOR=26

say() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# 1. Debian packages.
missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	say "packages: all ${#PACKAGES[@]} present"
else
	if [[ $(id -u) -ne 0 ]]; then
		die "missing Debian packages: ${missing[*]}
  run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
	fi
	say "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install failed for: ${missing[*]}"
	say "packages: installed ${#missing[@]}"
fi

# 2. Go >= 1.26 on PATH (/usr/local/go/bin is where the official tarball goes).
if ! command -v go >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then
		die "Go is installed at /usr/local/go/bin but is not on PATH
  run:  export PATH=\$PATH:/usr/local/go/bin   (then re-run)"
	fi
	die "Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer is missing (no 'go' on PATH nor in /usr/local/go/bin)
  install it from https://go.dev/dl/ into /usr/local/go and add /usr/local/go/bin to PATH"
fi
# Outside the module and with GOTOOLCHAIN=local: the Go on PATH itself, not a toolchain go.mod selects.
gover=$(cd / && GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || gover='' # e.g. go1.26.8
if [[ ! $gover =~ ^go([0-9]+)\.([0-9]+) ]]; then
	die "cannot read the Go version from $(command -v go) (got '${gover}')"
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
if ((major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR))); then
	die "Go ${GO_MIN_MAJOR}.${GO_MIN_MINOR} or newer is needed; $(command -v go) is ${gover}
  install a newer Go from https://go.dev/dl/ into /usr/local/go and put /usr/local/go/bin first on PATH"
fi
say "go: ${gover} at $(command -v go)"

# 3. Go modules (a no-op when the module cache already has them).
go mod download || die "go mod download failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
say "modules: downloaded"
