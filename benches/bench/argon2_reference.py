"""argon2id at the project's parameters (m=19456 KiB, t=2, p=1), our Rust verifier beside the
C reference implementation (argon2-cffi's low-level hash), on this machine in one run: how
much of a login's hashing is the implementation rather than the parameters."""

import json
import os
import statistics
import subprocess
import time

from argon2.low_level import Type, hash_secret_raw

from .answers import check

PARAMETERS = dict(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID)


def _reference_ms(runs):
    """Median ms of the C reference computing one argon2id hash, after one warm-up (a
    verification is one hash and a comparison)."""
    salt = os.urandom(16)
    hash_secret_raw(b"passwordhere", salt, **PARAMETERS)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        hash_secret_raw(b"passwordhere", salt, **PARAMETERS)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def argon2_rows(plan, _stack):
    runs = 3 if plan.dry_run else 20
    out = subprocess.run(
        [plan.binary(os.path.join("examples", "argon2-verify")), str(runs)],
        capture_output=True,
        text=True,
        check=False,
    )
    check(out.returncode == 0, "examples/argon2-verify failed", out.stderr[-500:])
    ours = json.loads(out.stdout)["median_ms"]
    reference = _reference_ms(runs)
    return [
        (f"argon2id m=19456 KiB t=2 p=1 verify, ours (median of {runs})", "", f"{ours:.1f} ms"),
        (
            f"argon2id same parameters, C reference via argon2-cffi (median of {runs})",
            "",
            f"{reference:.1f} ms",
        ),
        ("argon2id, ours vs the C reference", "", f"{ours / reference:.2f}x"),
    ]
