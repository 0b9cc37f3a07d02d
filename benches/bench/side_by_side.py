"""Issue 36's side-by-side table, in one run: hello-world, our 302, a Python/boto3 function
doing the same job, our authorizer and a JWT authorizer that reads nothing; cold median,
warm median and peak RSS of each, through the latency proxy and then with moto on
loopback. Cold starts are interleaved, so a slow stretch of the machine hits every
function alike."""

import statistics

from latency_proxy import LatencyProxy

from .proxied import DELAY_MS, contenders, through
from .timing import cold_start, warm_latency


def _measure(plan, stack, env):
    """{label: (cold median ms, warm median ms, peak RSS KiB)}."""
    them = contenders(plan, stack, env)
    colds = {label: [] for label, *_ in them}
    rss = dict.fromkeys(colds, 0)
    for i in range(plan.runs):
        for label, command, fn_env, ev, judge in them:
            ms, kib = cold_start(command, fn_env, ev, judge, f"cold {label} #{i}")
            colds[label].append(ms)
            rss[label] = max(rss[label], kib)
    return {
        label: (
            statistics.median(colds[label]),
            warm_latency(command, fn_env, ev, judge, f"warm {label}", plan.warm_runs),
            rss[label],
        )
        for label, command, fn_env, ev, judge in them
    }


def side_by_side_rows(plan, stack):
    with LatencyProxy("127.0.0.1", stack.port, DELAY_MS) as proxy:
        proxied = _measure(plan, stack, through(stack, proxy))
    loopback = _measure(plan, stack, through(stack, None))
    rows = []
    for where, figures in ((f"{DELAY_MS:g} ms proxy", proxied), ("moto on loopback", loopback)):
        for label, (cold, warm, kib) in figures.items():
            rows.append(
                (
                    f"{label}, {where}: cold / warm median / peak RSS "
                    f"({plan.runs} cold, {plan.warm_runs} warm)",
                    "",
                    f"{cold:.1f} ms / {warm:.2f} ms / {kib * 1024 / 1e6:.1f} MB",
                )
            )
    hello_cold = proxied["hello-world"][0]
    ours_cold, ours_warm, ours_rss = proxied["direct-oauth 302"]
    peer_warm = proxied["Python/boto3 peer 302"][1]
    floor = hello_cold + ours_warm
    return [
        *rows,
        (
            "direct approval warm vs the Python peer's (proxy, same run)",
            "<= 0.8x",
            f"{ours_warm / peer_warm:.2f}x ({ours_warm:.1f} vs {peer_warm:.1f} ms)",
        ),
        (
            "direct approval cold vs hello-world's cold + our warm (proxy)",
            "<= 1.2x",
            f"{ours_cold / floor:.2f}x ({ours_cold:.1f} vs {hello_cold:.1f} + {ours_warm:.1f} ms)",
        ),
        (
            # MiB, as Lambda's "Max Memory Used" and its memory sizes count.
            "peak RSS, direct-oauth cold 302 through the proxy (MiB)",
            "<= 30",
            f"{ours_rss / 1024:.1f} MiB ({ours_rss * 1024 / 1e6:.1f} MB)"
            + (
                f"; baseline {proxied['baseline direct-oauth 302'][2] / 1024:.1f} MiB"
                if "baseline direct-oauth 302" in proxied
                else ""
            ),
        ),
    ]
