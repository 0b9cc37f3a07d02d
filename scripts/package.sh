#!/usr/bin/env bash
# `make package`: the deployable arm64 zip, built by cargo lambda (with its own zig).
source "$(dirname "$0")/lib.sh"

rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
  || rustup target add aarch64-unknown-linux-gnu
# aws-lc's jitter entropy source costs start-up time and is not needed next to getrandom.
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
for bin in "${@:-authorize-app}"; do
  cargo lambda build --release --arm64 --output-format zip --bin "$bin"
  zip="target/lambda/$bin/bootstrap.zip"
  printf '%s: %s bytes (%s)\n' "$zip" "$(stat -c %s "$zip")" "$(du -h "$zip" | cut -f1)"
done
