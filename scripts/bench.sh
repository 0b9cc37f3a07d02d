#!/usr/bin/env bash
# `make bench`: release builds, then tools/bench.py prints the figures.
source "$(dirname "$0")/lib.sh"
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
cargo build --release --bins --example hello-lambda
# Always rebuilt (incrementally): a zip left from older code would report a stale size.
scripts/package.sh
python tools/bench.py
