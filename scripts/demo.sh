#!/usr/bin/env bash
# demo.sh — `make demo`: p11kms end to end on one machine, no AWS account needed.
#
# Starts the embedded dev KMS on loopback, creates an RSA-4096 and an EC P-256
# signing key in it, then uses the stock OpenSC pkcs11-tool with
# build/libp11kms.so to list the token, read both public keys, and sign a file
# with each key; openssl verifies both signatures. The dev KMS is stopped and
# every temporary file removed on exit, also on failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin

LIB=build/libp11kms.so # relative: every command is shown as run from the repo root
CLI=build/p11kms
RSA_ALIAS=CartorioDigitalRAIZ
EC_ALIAS=demo-ec-p256
REGION=us-east-1
# The dev KMS token has no PIN, so no login is needed; set P11KMS_DEMO_PIN to log in anyway.
LOGIN=()
[[ -z ${P11KMS_DEMO_PIN:-} ]] || LOGIN=(--login --pin "$P11KMS_DEMO_PIN")
STEP_TIMEOUT=60s             # no single step may hang the demo

bold=$'\e[1m' green=$'\e[32m' red=$'\e[31m' reset=$'\e[0m'
[[ -t 1 ]] || bold='' green='' red='' reset=''

step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
info() { printf '    %s\n' "$*"; }
die() {
	printf '\n%sdemo FAILED: %s%s\n' "$red" "$*" "$reset" >&2
	if [[ -s ${WORK:-/nonexistent}/devkms.log ]]; then
		printf '    last lines of the dev KMS log:\n' >&2
		tail -n 15 "$WORK/devkms.log" | sed 's/^/      /' >&2
	fi
	exit 1
}
# tidy indents tool output, dropping the module's two routine start/stop log lines
# (the configuration the dev KMS writes logs at info level); warnings and errors stay.
tidy() { grep -Ev '^time=.* level=INFO msg="p11kms (initialized|finalized)"' | sed 's/^/      /' || true; }
# run DESCRIPTION CMD... runs CMD under a timeout, its output indented; dies with DESCRIPTION on failure.
run() {
	local what=$1 rc=0
	shift
	printf '    $ %s\n' "$*"
	timeout "$STEP_TIMEOUT" "$@" 2>&1 | tidy || rc=$?
	((rc == 0)) || die "$what (exit status $rc)"
}

for f in "$LIB" "$CLI"; do
	[[ -x $f || -f $f ]] || die "$f is missing: run 'make build' (or simply 'make demo')"
done
for t in pkcs11-tool openssl timeout; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed: run scripts/deps.sh as root"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/p11kms-demo.XXXXXX")
DEVKMS_PID=
cleanup() {
	local rc=$?
	trap '' INT TERM # a second signal must not cut the cleanup short
	if [[ -n $DEVKMS_PID ]] && kill -0 "$DEVKMS_PID" 2>/dev/null; then
		kill -TERM "$DEVKMS_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$DEVKMS_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$DEVKMS_PID" 2>/dev/null || true
		wait "$DEVKMS_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s)

cat <<EOF
${bold}p11kms demo${reset}: AWS KMS keys behind a PKCS#11 token, driven by unmodified tools.
A local dev KMS (no AWS account, nothing leaves this machine) stands in for AWS KMS.
Work directory (removed at the end): $WORK
EOF

step "1. Start the dev KMS on 127.0.0.1 (a free port), with an empty data directory"
mkdir -p "$WORK/kmsdata"
printf '    $ %s\n' "$CLI devkms --addr 127.0.0.1:0 --data $WORK/kmsdata --region $REGION --config-out $WORK/p11kms.yaml"
"$CLI" devkms --addr 127.0.0.1:0 --data "$WORK/kmsdata" --region "$REGION" \
	--config-out "$WORK/p11kms.yaml" >"$WORK/devkms.out" 2>"$WORK/devkms.log" &
DEVKMS_PID=$!
ENDPOINT=
deadline=$((SECONDS + 10)) # the first stdout line must come within 10 s
while ((SECONDS < deadline)); do
	if [[ -s $WORK/devkms.out ]] && IFS= read -r ENDPOINT <"$WORK/devkms.out" && [[ $ENDPOINT == http* ]]; then
		break
	fi
	ENDPOINT=
	kill -0 "$DEVKMS_PID" 2>/dev/null || die "the dev KMS exited before printing its endpoint"
	sleep 0.1
done
[[ -n $ENDPOINT ]] || die "the dev KMS printed no endpoint URL within 10 s"
for _ in $(seq 1 50); do [[ -s $WORK/p11kms.yaml ]] && break; sleep 0.1; done
[[ -s $WORK/p11kms.yaml ]] || die "the dev KMS wrote no module configuration to $WORK/p11kms.yaml"
info "dev KMS listening at $ENDPOINT (pid $DEVKMS_PID)"

step "2. Create two signing keys in the KMS (the private halves never leave it)"
info "RSA-4096 with alias $RSA_ALIAS (the root key of a digital notary, say), and EC P-256 with alias $EC_ALIAS"
create_key() { # create_key SPEC ALIAS -> prints the ARN
	timeout "$STEP_TIMEOUT" "$CLI" create-key --endpoint "$ENDPOINT" --anonymous \
		--spec "$1" --usage SIGN_VERIFY --alias "$2" 2>>"$WORK/devkms.log" | head -n 1
}
printf '    $ %s\n' "$CLI create-key --endpoint $ENDPOINT --anonymous --spec RSA_4096 --usage SIGN_VERIFY --alias $RSA_ALIAS"
RSA_ARN=$(create_key RSA_4096 "$RSA_ALIAS") || die "could not create the RSA-4096 key"
[[ $RSA_ARN == arn:* ]] || die "create-key printed no ARN for the RSA key (got '$RSA_ARN')"
info "  -> $RSA_ARN"
printf '    $ %s\n' "$CLI create-key --endpoint $ENDPOINT --anonymous --spec ECC_NIST_P256 --usage SIGN_VERIFY --alias $EC_ALIAS"
EC_ARN=$(create_key ECC_NIST_P256 "$EC_ALIAS") || die "could not create the EC P-256 key"
[[ $EC_ARN == arn:* ]] || die "create-key printed no ARN for the EC key (got '$EC_ARN')"
info "  -> $EC_ARN"

step "3. Point the PKCS#11 module at the dev KMS"
export P11KMS_CONFIG=$WORK/p11kms.yaml
info "export P11KMS_CONFIG=$P11KMS_CONFIG   (written by the dev KMS):"
sed 's/^/      /' "$P11KMS_CONFIG"
P11=(pkcs11-tool --module "$LIB")

step "4. List the token the module exposes (no login needed)"
run "pkcs11-tool could not list the slots" "${P11[@]}" -L

step "5. List the objects on the token: each KMS key is a private key and a public key"
printf '    $ %s\n' "${P11[*]} -O"
timeout "$STEP_TIMEOUT" "${P11[@]}" -O >"$WORK/objects.txt" 2>&1 ||
	{ tidy <"$WORK/objects.txt"; die "pkcs11-tool could not list the objects"; }
tidy <"$WORK/objects.txt"

# key_id LABEL prints the CKA_ID (hex) of the public-key object labelled LABEL (or alias/LABEL).
key_id() {
	awk -v want="$1" '
		/^[^ \t]/ { pub = ($0 ~ /^Public Key Object/); label = "" }
		pub && $1 == "label:" { label = $0; sub(/^[ \t]*label:[ \t]*/, "", label) }
		pub && $1 == "ID:" && (label == want || label == "alias/" want) { print $2; exit }
	' "$WORK/objects.txt"
}
RSA_ID=$(key_id "$RSA_ALIAS")
EC_ID=$(key_id "$EC_ALIAS")
[[ -n $RSA_ID ]] || die "no public key labelled $RSA_ALIAS on the token"
[[ -n $EC_ID ]] || die "no public key labelled $EC_ALIAS on the token"
info "CKA_ID of $RSA_ALIAS: $RSA_ID"
info "CKA_ID of $EC_ALIAS: $EC_ID"

step "6. Read each public key off the token (answered locally, no KMS call) and convert it to PEM"
for k in rsa ec; do
	if [[ $k == rsa ]]; then id=$RSA_ID; else id=$EC_ID; fi
	run "could not read the $k public key" "${P11[@]}" --read-object --type pubkey --id "$id" -o "$WORK/$k.pub.der"
	run "openssl could not parse the $k public key" openssl pkey -pubin -inform DER -in "$WORK/$k.pub.der" -out "$WORK/$k.pub.pem"
	info "-> $WORK/$k.pub.pem: $(openssl pkey -pubin -in "$WORK/$k.pub.pem" -noout -text | head -n 1)"
done

step "7. Sign a document with each key through the module (the signing happens inside KMS)"
if ((${#LOGIN[@]} == 0)); then
	info "no PIN is configured for this token, so pkcs11-tool needs no --login (with a pin: in the config, add --login --pin PIN)"
else
	info "logging in with the PIN from P11KMS_DEMO_PIN (this token accepts any PIN: none is configured)"
fi
DOC=$WORK/escritura.txt
printf 'Escritura publica de compra e venda, lavrada em %s.\n' "$(date -u +%Y-%m-%d)" >"$DOC"
info "document: $(cat "$DOC")"
run "RSA signing failed" "${P11[@]}" "${LOGIN[@]}" --sign --id "$RSA_ID" -m SHA256-RSA-PKCS \
	-i "$DOC" -o "$WORK/rsa.sig"
run "EC signing failed" "${P11[@]}" "${LOGIN[@]}" --sign --id "$EC_ID" -m ECDSA-SHA256 \
	--signature-format openssl -i "$DOC" -o "$WORK/ec.sig"
info "RSA signature: $(stat -c %s "$WORK/rsa.sig") bytes; ECDSA signature (DER): $(stat -c %s "$WORK/ec.sig") bytes"

step "8. Verify both signatures with openssl alone (no PKCS#11, no KMS)"
run "the RSA signature does not verify" openssl dgst -sha256 -verify "$WORK/rsa.pub.pem" -signature "$WORK/rsa.sig" "$DOC"
run "the ECDSA signature does not verify" openssl dgst -sha256 -verify "$WORK/ec.pub.pem" -signature "$WORK/ec.sig" "$DOC"

step "9. Stop the dev KMS and remove the temporary files"
printf '\n%sDemo complete in %ss: two KMS keys, listed, read and used for signing through PKCS#11; both signatures verified.%s\n' \
	"$green" "$(($(date +%s) - started))" "$reset"
