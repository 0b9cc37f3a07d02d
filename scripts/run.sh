#!/usr/bin/env bash
# `make run`: the whole stack in the foreground; Ctrl-C stops everything it started.
source "$(dirname "$0")/lib.sh"

MOTO_PORT="${MOTO_PORT:-4566}"
WATCH_PORT="${WATCH_PORT:-9000}"
mkdir -p "$ROOT/.local"
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building"
cargo build --bins
stack_env "$MOTO_PORT"
local_issuer "$WATCH_PORT"
start_moto "$MOTO_PORT" "$ROOT/.local/moto.log"
provision_demo
# `make run DIRECTORY=ldap`: passwords from a local OpenLDAP (tests/ldap/seed.ldif's people).
login="username:passwordhere"
if [ "${DIRECTORY:-users}" = ldap ]; then
  ensure_slapd
  start_slapd "${LDAP_PORT:-3389}" "${LDAPS_PORT:-3636}" "$ROOT/.local/slapd" "$ROOT/.local/slapd.log"
  use_ldap_directory
  login="alice:alice-password"
elif [ "${DIRECTORY:-users}" != users ]; then
  die "DIRECTORY=$DIRECTORY: make run knows users and ldap (Cognito needs a user pool: README)"
fi
write_env "$ROOT/.local/env"
start_watch "$WATCH_PORT" "$ROOT/.local/env" "$ROOT/.local/watch.log"

endpoint="http://127.0.0.1:$WATCH_PORT/lambda-url/$FUNCTION/oauth/authorizeapp"
cat <<MSG

direct-oauth is running. Logs: .local/watch.log, .local/moto.log
Admin CLI against this stack:  . .local/env && target/debug/direct-oauth-admin --help
endpoint: $endpoint
discovery: $DIRECT_OAUTH_ISSUER/.well-known/oauth-authorization-server (issuer $DIRECT_OAUTH_ISSUER)

curl -i -X POST '$endpoint' -u '$login' --data 'client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin'

Or sign in and consent in a browser (as ${login%%:*}, password ${login#*:}); the browser ends on the demo
application's redirect URI, with the code in the address bar:
$DIRECT_OAUTH_ISSUER/oauth/authorize?client_id=some_client_id&response_type=code&scope=repo:read&state=demo&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256

A tool that signs in without your password (the device flow: it prints a code to enter at
$DIRECT_OAUTH_ISSUER/oauth/device), keeps a refresh token and prints an access token:
DOA_ISSUER=$DIRECT_OAUTH_ISSUER DOA_CLIENT_ID=doa-cli examples/doa_login.py login --device
DOA_ISSUER=$DIRECT_OAUTH_ISSUER DOA_CLIENT_ID=doa-cli examples/doa_login.py token

Your API tokens (create one, see it once, revoke it) and the applications you authorized:
$DIRECT_OAUTH_ISSUER/oauth/tokens
$DIRECT_OAUTH_ISSUER/oauth/applications

Ctrl-C stops everything.
MSG
wait
