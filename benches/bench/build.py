"""The figures of the build itself, measured without moto: criterion's CPU times per
request and per password verification (benches/core.rs), and the size of the arm64 zip."""

import os
import re
import subprocess

from .answers import check
from .setup import ROOT

# The criterion benchmarks the table reports.
WANTED = {
    "core": "pure_core/quay_example_302",
    "argon2": "password/argon2id_m19456_t2_p1_verify",
    "bcrypt": "password/bcrypt_cost12_verify",
}
AUTHORIZER_CPU = "authorizer/check_without_the_read"
DPOP_CHECKS = {"ES256": "dpop/proof_check_es256", "EdDSA": "dpop/proof_check_eddsa"}
ZIP = os.path.join(ROOT, "target", "lambda", "authorize-app", "bootstrap.zip")


def criterion():
    """{benchmark: median µs} from `cargo bench --bench core`, and its output."""
    env = dict(os.environ, AWS_LC_SYS_NO_JITTER_ENTROPY="1")
    out = subprocess.run(
        ["cargo", "bench", "--bench", "core", "--", "--noplot"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {}
    for name, value, unit in re.findall(
        r"^(\S+)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out, re.M
    ):
        scale = {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[unit]
        figures[name] = float(value) * scale
    return figures, out


def criterion_rows():
    figures, out = criterion()
    missing = [name for name in WANTED.values() if name not in figures]
    check(not missing, f"criterion figures {missing} not found in its output", out[-2000:])
    rows = [("pure core per request (criterion)", "<= 20 µs", f"{figures[WANTED['core']]:.2f} µs")]
    if AUTHORIZER_CPU in figures:
        rows.append(
            ("authorizer CPU per check, without the read", "", f"{figures[AUTHORIZER_CPU]:.2f} µs")
        )
    for alg, name in DPOP_CHECKS.items():
        if name in figures:
            rows.append(
                (
                    f"DPoP proof check, {alg} (signature and claims, criterion)",
                    "",
                    f"{figures[name]:.1f} µs",
                )
            )
    rows.append(
        (
            "argon2id m=19 MiB t=2 p=1 verify (1 core)",
            "",
            f"{figures[WANTED['argon2']] / 1000:.1f} ms",
        )
    )
    rows.append(
        ("bcrypt cost 12 verify (1 core)", "", f"{figures[WANTED['bcrypt']] / 1000:.1f} ms")
    )
    return rows


def package_size_row():
    if not os.path.exists(ZIP):
        return ("arm64 zip (make package)", "<= 4 MB", "not built: run make package")
    size = os.path.getsize(ZIP)
    return ("arm64 zip (make package)", "<= 4 MB", f"{size / 1e6:.2f} MB ({size} B)")
