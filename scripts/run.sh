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
write_env "$ROOT/.local/env"
start_moto "$MOTO_PORT" "$ROOT/.local/moto.log"
provision_demo
start_watch "$WATCH_PORT" "$ROOT/.local/env" "$ROOT/.local/watch.log"

endpoint="http://127.0.0.1:$WATCH_PORT/lambda-url/$FUNCTION/oauth/authorizeapp"
cat <<MSG

direct-oauth is running. Logs: .local/watch.log, .local/moto.log
Admin CLI against this stack:  . .local/env && target/debug/direct-oauth-admin --help
endpoint: $endpoint
discovery: $DIRECT_OAUTH_ISSUER/.well-known/oauth-authorization-server (issuer $DIRECT_OAUTH_ISSUER)

curl -i -X POST '$endpoint' -H 'Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl' --data 'client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin'

Ctrl-C stops everything.
MSG
wait
