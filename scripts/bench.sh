#!/usr/bin/env bash
# `make bench`: release builds, then the bench package (benches/bench/) prints the figures.
source "$(dirname "$0")/lib.sh"
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
cargo build --release --bins --example hello-lambda --example jwt-authorizer --example argon2-verify
# Always rebuilt (incrementally): a zip left from older code would report a stale size.
scripts/package.sh
# The LDAP directory's figures bind to a real slapd (the tests' own, on ports of its own).
trap cleanup EXIT
ensure_slapd
start_slapd "${BENCH_LDAP_PORT:-3589}" "${BENCH_LDAPS_PORT:-3836}" "$ROOT/.local/bench-slapd" \
  "$ROOT/.local/bench-slapd.log"
PYTHONPATH="$ROOT/benches${PYTHONPATH:+:$PYTHONPATH}" python -m bench "$@"
