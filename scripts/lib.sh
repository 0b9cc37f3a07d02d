# Shared by scripts/run.sh and scripts/test.sh: the local stack (moto + cargo lambda watch).
# Everything binds to 127.0.0.1 and the AWS SDK is pointed at moto, so nothing leaves loopback.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
export SAM_CLI_TELEMETRY=0
FUNCTION=authorize-app
PIDS=()

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# stack_env MOTO_PORT: the environment of the function, the admin CLI and the tests. The
# tables' and the parameter's names are the list in src/resources.rs, as the admin CLI
# prints it (a name already set is kept), so the CLI must be built first.
stack_env() {
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  local names
  names="$(admin env)" || die "direct-oauth-admin env failed (is target/debug built?)"
  eval "$names"
}

# local_issuer PORT: the issuer of the function served by cargo lambda watch on PORT, so
# discovery names endpoints that answer locally (watch serves /lambda-url/<binary>/...).
local_issuer() {
  export DIRECT_OAUTH_ISSUER="http://127.0.0.1:$1/lambda-url/$FUNCTION"
}

# write_env FILE: the stack's environment as a sourceable file (also read by cargo lambda).
write_env() {
  mkdir -p "$(dirname "$1")"
  local v
  {
    echo "# Written by scripts; source it: . $1"
    for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION \
             AWS_EC2_METADATA_DISABLED AWS_ENDPOINT_URL; do
      if [ -n "${!v:-}" ]; then echo "export $v='${!v}'"; fi
    done
    admin env
    # The directory's variables too (use_ldap_directory), whichever are set.
    for v in DIRECT_OAUTH_CODE_LIFETIME_SECONDS DIRECT_OAUTH_WHITELIST_CACHE_SECONDS \
             DIRECT_OAUTH_WHITELIST_STALE_SECONDS DIRECT_OAUTH_LOG_LEVEL DIRECT_OAUTH_ISSUER \
             DIRECT_OAUTH_DIRECTORY DIRECT_OAUTH_SUPERUSER_GROUP $(compgen -v DIRECT_OAUTH_LDAP_) \
             $(compgen -v DIRECT_OAUTH_DPOP_) DIRECT_OAUTH_API_URL; do
      if [ -n "${!v:-}" ]; then echo "export $v='${!v}'"; fi
    done
  } > "$1"
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_moto PORT LOGFILE
start_moto() {
  port_free "$1" || die "port $1 is in use (another moto? set MOTO_PORT)"
  log "moto on 127.0.0.1:$1"
  # Atomic DynamoDB item operations, as on AWS (see tests/support/moto_server.py).
  setsid python "$ROOT/tests/support/moto_server.py" -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/moto-api/" 2>/dev/null && return 0
    sleep 0.1
  done
  die "moto did not start; see $2"
}

admin() { "$ROOT/target/debug/direct-oauth-admin" "$@"; }

# provision_demo: the Quay page's own example.
provision_demo() {
  admin init >&2
  printf 'passwordhere\n' | admin user add username --password-stdin >&2
  admin app add some_client_id --name "Quay example" \
    --redirect-uri https://my/internal/application/token_created >&2
  admin whitelist add some_client_id >&2
  # The example tool's application (examples/doa_login.py): a public client that signs in
  # with the device flow or a loopback redirect, and keeps a refresh token.
  admin app add doa-cli --name "doa CLI" --redirect-uri http://127.0.0.1/callback \
    --device-grant --refresh-tokens >&2
  # gen_events (tools/) holds the sample tokens that sample_tokens writes.
  PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}" python "$ROOT/tests/support/sample_tokens.py"
}

# start_watch PORT ENVFILE LOGFILE: serve the function; returns once it answers.
start_watch() {
  port_free "$1" || die "port $1 is in use (set WATCH_PORT)"
  log "cargo lambda watch on 127.0.0.1:$1 (the first request waits for the build)"
  # Every binary of the crate is served: authorize-app and token-authorizer.
  setsid cargo lambda watch -A 127.0.0.1 -P "$1" --env-file "$2" --disable-cors >"$3" 2>&1 &
  PIDS+=($!)
  local url="http://127.0.0.1:$1/lambda-url/$FUNCTION/oauth/authorizeapp" i
  for i in $(seq 1 100); do
    port_free "$1" || break
    sleep 0.2
  done
  # One long request: watch holds it until the function is built and running.
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1200 -X GET "$url" || true)
  [ "$code" = 405 ] || die "the function did not answer (HTTP $code); see $3"
}

# The LDAP directory's throw-away slapd (ensure_slapd, start_slapd).
source "$ROOT/scripts/ldap.sh"
# The browser tests' Chromium (ensure_chromium).
source "$ROOT/scripts/browser.sh"
