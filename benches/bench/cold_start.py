"""The cold start of authorize-app against a hello-world lambda_http on the same machine,
its warm requests, and its peak memory."""

import os
import statistics

from .answers import issued, says_hello, status_is
from .events import event
from .timing import cold_start, warm_latency

# The baseline: examples/hello-lambda.rs, the least a lambda_http function does.
HELLO = os.path.join("examples", "hello-lambda")
# Where this machine's CA bundle may be, for a start-up that reads that file alone.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def _cold_starts(fn, hello, env, runs):
    """Medians of the cold 302, the cold 405 (start-up only) and hello-world's cold start,
    interleaved; and the peak RSS of the 302's runs (KiB)."""
    ours, init_only, base, rss = [], [], [], []
    for i in range(runs):
        ms, kib = cold_start(fn, env, event(), issued, f"cold 302 #{i}")
        ours.append(ms)
        rss.append(kib)
        ms, _ = cold_start(fn, env, event(scenario="get"), status_is(405), f"cold 405 #{i}")
        init_only.append(ms)
        ms, _ = cold_start(hello, env, event(), says_hello, f"cold hello-world #{i}")
        base.append(ms)
    return (
        statistics.median(ours),
        statistics.median(init_only),
        statistics.median(base),
        max(rss),
    )


def _bundle_only(fn, env, runs):
    """Median cold 405 with SSL_CERT_FILE naming the CA bundle, None without one: this
    machine's OpenSSL layout makes rustls-native-certs read a hashed directory of 146
    certificates on top of the bundle."""
    bundle = next((p for p in CA_BUNDLES if os.path.exists(p)), None)
    if not bundle:
        return None
    return statistics.median(
        cold_start(
            fn,
            dict(env, SSL_CERT_FILE=bundle),
            event(scenario="get"),
            status_is(405),
            f"cold 405 with SSL_CERT_FILE #{i}",
        )[0]
        for i in range(runs)
    )


def cold_start_rows(plan, stack):
    env, fn, hello = stack.env, plan.binary("authorize-app"), plan.binary(HELLO)
    m_ours, m_init, m_base, rss = _cold_starts(fn, hello, env, plan.runs)
    one_bundle = _bundle_only(fn, env, plan.runs)
    w_ours = warm_latency(fn, env, event(), issued, "warm 302", plan.warm_runs)
    w_base = warm_latency(hello, env, event(), says_hello, "warm hello-world", plan.warm_runs)
    added, base_added = m_ours - w_ours, max(m_base - w_base, 0.01)
    rows = [
        (f"cold start, hello-world lambda_http (median of {plan.runs})", "", f"{m_base:.1f} ms"),
        (f"warm request, hello-world (median of {plan.warm_runs})", "", f"{w_base:.1f} ms"),
        ("cold start, authorize-app, Quay example 302", "", f"{m_ours:.1f} ms"),
        ("warm request, authorize-app, Quay example 302", "", f"{w_ours:.1f} ms"),
        ("ratio to hello-world, 302 cold", "<= 2.0x", f"{m_ours / m_base:.2f}x"),
        (
            "what being cold adds, 302 (cold - warm) vs hello's",
            "<= 2.0x",
            f"{added / base_added:.2f}x ({added:.1f} vs {m_base - w_base:.1f} ms)",
        ),
        ("cold start, authorize-app, GET 405 (start-up only)", "", f"{m_init:.1f} ms"),
        ("ratio to hello-world, 405", "<= 2.0x", f"{m_init / m_base:.2f}x"),
    ]
    if one_bundle is not None:
        rows.append(
            (
                "cold start, GET 405, CA bundle file only (SSL_CERT_FILE)",
                "",
                f"{one_bundle:.1f} ms ({one_bundle / m_base:.2f}x)",
            )
        )
    # MiB, as Lambda's "Max Memory Used" and its memory sizes count.
    rows.append(
        (
            "peak RSS, cold start run (max, MiB)",
            "<= 30",
            f"{rss / 1024:.1f} MiB ({rss * 1024 / 1e6:.1f} MB)",
        )
    )
    return rows
