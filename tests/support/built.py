"""The binaries `make test` built once, before any Python test runs: scripts/test.sh's build
step (`cargo build --locked --all-targets`) makes every binary of the crate with the
features of every target. A test runs that build's binary rather than `cargo run`, which
resolves other features and would compile the SDK a second time."""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = "cargo build --locked --all-targets"


def binary(name):
    """The path of the debug binary `name` (under CARGO_TARGET_DIR when set, else target/);
    fails the test, naming the command to run, when it has not been built."""
    target = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR") or "target")
    path = os.path.join(target, "debug", name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run `{BUILD}` first (make test does)", pytrace=False)
    return path
