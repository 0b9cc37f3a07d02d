#!/usr/bin/env bash
# `make test`: every check of the project. Starts its own moto and cargo lambda watch on
# ports other than `make run`'s, and stops them when done.
source "$(dirname "$0")/lib.sh"

MOTO_PORT="${TEST_MOTO_PORT:-4577}"
WATCH_PORT="${TEST_WATCH_PORT:-9077}"
LDAP_PORT="${TEST_LDAP_PORT:-3489}"
LDAPS_PORT="${TEST_LDAPS_PORT:-3736}"
LOGS="$ROOT/.local/test"
mkdir -p "$LOGS"
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$(date +%s)

step() { log "$* ($(( $(date +%s) - start ))s)"; }

step "format"
cargo fmt --check
# The Python of tests/, benches/, tools/ and examples/: lint (pyproject.toml's rules), format.
ruff check --quiet .
ruff format --check --quiet .
# Dead Python code (pyproject.toml's [tool.vulture]: what is used by name is listed there).
vulture
step "examples (their own logic, no server)"
python -m pytest -q -p no:cacheprovider tests/examples
step "clippy"
cargo clippy --all-targets --locked -- -D warnings
step "build"
cargo build --locked --all-targets

step "template (cfn-lint $(cfn-lint --version | cut -d' ' -f2), sam validate)"
cfn-lint template.yaml
sam validate --region us-east-1
python -m pytest -q -p no:cacheprovider tests/template

step "local stack"
stack_env "$MOTO_PORT"
local_issuer "$WATCH_PORT"
# A short whitelist cache, so the tests can see a removal take effect.
export DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1 DIRECT_OAUTH_WHITELIST_STALE_SECONDS=0
# The shortest code lifetime, so a test can wait one out.
export DIRECT_OAUTH_CODE_LIFETIME_SECONDS=10
export DIRECT_OAUTH_LOG_LEVEL=info
write_env "$LOGS/env"
# Every AWS call, with the process that made it, for IAM by evaluation (the last e2e module).
export MOTO_CALL_LOG="$LOGS/aws-calls.jsonl"
: > "$MOTO_CALL_LOG"
start_moto "$MOTO_PORT" "$LOGS/moto.log"
# The LDAP directory's tests bind to a real OpenLDAP, installed here when missing.
ensure_slapd
start_slapd "$LDAP_PORT" "$LDAPS_PORT" "$LOGS/slapd" "$LOGS/slapd.log"
provision_demo 2>"$LOGS/provision.log"
start_watch "$WATCH_PORT" "$LOGS/env" "$LOGS/watch.log"
export WATCH_PORT E2E_ENDPOINT="http://127.0.0.1:$WATCH_PORT/lambda-url/$FUNCTION/oauth/authorizeapp"

step "cargo test (unit, flow, adapters against moto)"
cargo test --locked --all-targets
# The pages' tests drive a real Chromium, installed here when missing.
ensure_chromium
step "end to end (cargo lambda watch and invoke, events/)"
python -m pytest -q -p no:cacheprovider tests/e2e
step "done"
