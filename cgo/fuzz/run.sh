#!/usr/bin/env bash
# cgo/fuzz/run.sh: fuzz build/libp11kms.so through its C ABI with libFuzzer
# for FUZZ_SECONDS (default 600) against a seeded dev KMS. See README.md.
#
# Needs: make build (the library and the p11kms CLI), clang 14 with
# libclang-rt-14-dev (libFuzzer), openssl. Environment:
#   FUZZ_SECONDS  fuzzing time (default 600)
#   FUZZ_WORKDIR  where the corpus, artifacts and logs go (default build/fuzz/work)
#   FUZZ_JOBS     libFuzzer -jobs/-workers (default: one process, no jobs)
#   FUZZ_ARGS     extra libFuzzer flags
#   FUZZ_GO_COVERAGE  1 (default): fuzz a build of the module whose Go code
#                 reports coverage to libFuzzer; 0: fuzz build/libp11kms.so as shipped
# Exit status: 0 when the run ended without a finding, 1 otherwise.
set -euo pipefail

# main holds the whole script, so that bash has read all of it before it runs
# (editing run.sh during a run cannot change what the run does).
main() {

  root=$(cd "$(dirname "$0")/../.." && pwd)
  cd "$root"
  seconds=${FUZZ_SECONDS:-600}
  work=${FUZZ_WORKDIR:-$root/build/fuzz/work}
  bin=$work/p11kms-fuzz
  lib=$root/build/libp11kms.so
  cli=$root/build/p11kms

  [[ -e $cli ]] || { echo "run.sh: $cli missing: run make build" >&2; exit 2; }
  command -v clang >/dev/null || { echo "run.sh: clang missing: apt-get install -y clang libclang-rt-14-dev" >&2; exit 2; }
  mkdir -p "$work/corpus"

  # The harness, instrumented by clang; -rdynamic exports libFuzzer's hooks to
  # the Go coverage build. The CK_RVs of the calls are extra coverage counters.
  clang -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer -rdynamic -I"$root/cgo/include/oasis" -I"$root/cgo/include" \
    -o "$bin" "$root"/cgo/fuzz/{harness,common,ops_objects,ops_sign,ops_misc,ops_crypt,ops_derive,derive_template,derive_points}.c -ldl

  if [[ ${FUZZ_GO_COVERAGE:-1} == 1 ]]; then
    # The module with libFuzzer coverage in the project's own Go packages
    # (README.md, "Go coverage"): same code, same linker script, plus the hooks.
    gcc -O2 -fPIC -Wall -c -o "$work/sancov.o" "$root/cgo/fuzz/shim/sancov.c"
    CGO_ENABLED=1 go build -trimpath -tags=libfuzzer \
      -gcflags='github.com/p11kms/p11kms/...=-d=libfuzzer' -buildmode=c-shared \
      -ldflags "-extldflags '-Wl,--version-script=$root/build/libp11kms.map $work/sancov.o'" \
      -o "$work/libp11kms-cov.so" ./cgo
    rm -f "$work/libp11kms-cov.h"
    lib=$work/libp11kms-cov.so
  else
    [[ -e $lib ]] || { echo "run.sh: $lib missing: run make build" >&2; exit 2; }
    # A private copy: a `make build` during the run must not rewrite the mapped library.
    cp "$lib" "$work/libp11kms.so"
    lib=$work/libp11kms.so
  fi

  # Dev KMS keys: one of each spec the module signs with, an RSA decryption key
  # and an HMAC key, generated afresh and written in local-kms's seed format
  # (RSA as PKCS#8, EC as SEC1, HMAC as hex backing keys).
  seed=$work/seed.yaml
  {
    hmac_id=$(cat /proc/sys/kernel/random/uuid)
    echo "Keys:"
    echo "  Symmetric:"
    echo "    Hmac:"
    echo "      - Metadata: {KeyId: $hmac_id, KeyUsage: GENERATE_VERIFY_MAC, KeySpec: HMAC_256, Origin: AWS_KMS}"
    echo "        BackingKeys: [$(openssl rand -hex 32)]"
    echo "  Asymmetric:"
    echo "    Rsa:"
    rsa_ids=("$hmac_id:hmac256") ec_ids=()
    for spec in 2048:SIGN_VERIFY 3072:SIGN_VERIFY 2048:ENCRYPT_DECRYPT; do
      bits=${spec%%:*} usage=${spec#*:}
      id=$(cat /proc/sys/kernel/random/uuid); rsa_ids+=("$id:rsa$bits-${usage,,}")
      echo "      - Metadata: {KeyId: $id, KeyUsage: $usage, Origin: AWS_KMS}"
      echo "        PrivateKeyPem: |"
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits 2>/dev/null | sed 's/^/          /'
    done
    echo "    Ecc:"
    for curve in prime256v1 secp384r1 secp521r1 secp256k1; do
      id=$(cat /proc/sys/kernel/random/uuid); ec_ids+=("$id:$curve")
      echo "      - Metadata: {KeyId: $id, KeyUsage: SIGN_VERIFY, Origin: AWS_KMS}"
      echo "        PrivateKeyPem: |"
      openssl ecparam -name $curve -genkey -noout 2>/dev/null | sed 's/^/          /'
    done
    echo "Aliases:"
    for pair in "${rsa_ids[@]}" "${ec_ids[@]}"; do
      echo "  - {AliasName: alias/fuzz-${pair#*:}, TargetKeyId: ${pair%%:*}}"
    done
  } >"$seed"
  chmod 600 "$seed"

  # The dev KMS, stopped (by its own pid) whatever happens.
  url_file=$work/devkms.url
  rm -f "$url_file"
  "$cli" devkms --seed "$seed" --log-level warn >"$url_file" 2>"$work/devkms.log" &
  devkms_pid=$!
  trap 'kill "$devkms_pid" 2>/dev/null || true; wait "$devkms_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    [[ -s $url_file ]] && break
    kill -0 "$devkms_pid" 2>/dev/null || { cat "$work/devkms.log" >&2; exit 2; }
    sleep 0.1
  done
  url=$(head -1 "$url_file")
  [[ $url == http://127.0.0.1:* ]] || { echo "run.sh: dev KMS did not start: $url" >&2; exit 2; }

  # Keys local-kms's seed format cannot hold (KEY_AGREEMENT EC keys for
  # C_DeriveKey, ML-DSA, SM2, Ed25519, a SYMMETRIC_DEFAULT key): created with
  # CreateKey against the running dev KMS (its own-key layer).
  for key in ECC_NIST_P256:KEY_AGREEMENT ECC_NIST_P384:KEY_AGREEMENT SM2:KEY_AGREEMENT \
    ML_DSA_44:SIGN_VERIFY SM2:SIGN_VERIFY SM2:ENCRYPT_DECRYPT ECC_NIST_EDWARDS25519:SIGN_VERIFY \
    SYMMETRIC_DEFAULT:ENCRYPT_DECRYPT; do
    spec=${key%%:*} usage=${key#*:}
    "$cli" create-key --endpoint "$url" --region us-east-1 --anonymous --spec "$spec" --usage "$usage" \
      --alias "fuzz-${spec,,}-${usage,,}" >/dev/null 2>>"$work/devkms.log" ||
      { echo "run.sh: create-key --spec $spec --usage $usage failed:" >&2; cat "$work/devkms.log" >&2; exit 2; }
  done

  config=$work/p11kms.yaml
  cat >"$config" <<EOF
log: {level: error, file: "$work/module.log"}
tokens:
  - label: devkms
    region: us-east-1
    endpoint: "$url"
    anonymous: true
    call_timeout: 5s
EOF
  chmod 600 "$config"

  # libFuzzer flags that coexist with the Go runtime (README.md, "Signals"):
  # Go owns SIGSEGV/SIGBUS/SIGFPE (a nil dereference in the module is a Go
  # panic its exports recover), so libFuzzer must not handle them. GOTRACEBACK=crash
  # turns a Go fatal error into SIGABRT, which libFuzzer saves as a crash input.
  touch "$work/.start"
  rc=0
  set +e
  GOTRACEBACK=crash P11KMS_CONFIG=$config P11KMS_FUZZ_LIB=$lib FUZZ_LAST_INPUT=$work/last-input \
    "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=2048 \
    -handle_segv=0 -handle_bus=0 -handle_fpe=0 -print_final_stats=1 \
    ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} \
    -artifact_prefix="$work/" ${FUZZ_ARGS:-} "$work/corpus" "$root/cgo/fuzz/seeds" 2>"$work/fuzz.log"
  rc=$?
  set -e
  grep -E '^(INFO: Loaded|#[0-9]+[[:space:]]+DONE|Done |stat::)|FINDING|ERROR' "$work/fuzz.log" >&2 || true
  findings=$(find "$work" -maxdepth 1 -newer "$work/.start" \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  panics=$(grep -c "panic recovered" "$work/module.log" 2>/dev/null || true)
  if [[ $findings -gt 0 || ${panics:-0} -gt 0 ]]; then
    rc=1
  fi
  if [[ $rc -ne 0 && -s $work/last-input ]]; then
    # The process may have died outside libFuzzer's handlers: keep the input it ran.
    n=$(od -An -tu8 -N8 "$work/last-input" | tr -d ' ')
    tail -c +9 "$work/last-input" | head -c "${n:-0}" >"$work/crash-last-input"
  fi
  echo "run.sh: exit $rc; $findings new artifacts; ${panics:-0} recovered panics logged; corpus $(ls "$work/corpus" | wc -l) inputs; module log $(wc -l <"$work/module.log" 2>/dev/null || echo 0) lines; work dir $work" >&2
  exit $((rc != 0))
}

main "$@"
