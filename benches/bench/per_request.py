"""Where each request type's milliseconds go, through the latency proxy: the AWS calls it
makes, in how many sequential rounds (a round waits for the one before), the time spent
waiting on AWS (overlapping calls once), the password hashing its log line reports, and
the function's own CPU per request (utime + stime over the warm requests)."""

import os
import statistics
import time

from latency_proxy import LatencyProxy, busy_ms, rounds
from sample_tokens import write as write_sample_tokens

from .answers import authorized, check, exchanged, issued
from .code_flow import issue_code
from .events import event, exchange_event
from .proxied import (
    DELAY_MS,
    PYTHON_PEER,
    authorizer_event,
    baseline,
    cpu_seconds,
    issue_tokens,
    log_lines,
    through,
)
from .setup import ROOT
from .timing import Instance


def _split(calls):
    """(calls, rounds, AWS wait ms) of one invocation's calls."""
    return len(calls), rounds(calls), busy_ms(calls)


def _summary(per_request, hashing, times, cpu_ms=None):
    """One row's measured text: medians of the requests' figures."""
    count = statistics.median(c for c, _, _ in per_request)
    waves = statistics.median(r for _, r, _ in per_request)
    wait = statistics.median(w for _, _, w in per_request)
    hashed = f"{statistics.median(hashing):.1f} ms" if hashing else "none"
    cpu = "" if cpu_ms is None else f" / {cpu_ms:.2f} ms"
    return (
        f"{count:g} / {waves:g} / {wait:.1f} ms / {hashed}{cpu} "
        f"(answer {statistics.median(times):.2f} ms)"
    )


def _warm(proxy, command, env, next_event, judge, what, runs, skip=3):
    """`runs` warm requests on one process after `skip`: per request its calls (the
    proxy's), rounds and AWS wait; the hashing its log lines report; its own CPU per request
    (ms); the answers' times (ms); every call's own duration (ms)."""
    path = os.path.join(ROOT, ".local", "bench-per-request.log")
    per_request, times, durations = [], [], []
    with open(path, "w") as out, Instance(command, env, out) as fn:
        for i in range(skip + runs):
            if i == skip:
                cpu = cpu_seconds(fn.proc.pid)
            ev = next_event()
            mark = proxy.mark()
            t0 = time.monotonic()
            kind, reply, at = fn.invoke(ev)
            check(kind == "response", f"{what} #{i}: want a response", (kind, reply))
            judge(reply, f"{what} #{i}")
            if i >= skip:
                calls = proxy.calls_since(mark)
                per_request.append(_split(calls))
                durations += [(c.end - c.start) * 1000 for c in calls]
                times.append((at - t0) * 1000)
        cpu_ms = (cpu_seconds(fn.proc.pid) - cpu) * 1000 / runs
    hashing = [line["hashing_ms"] for line in log_lines(path)[skip:] if "hashing_ms" in line]
    return per_request, hashing, cpu_ms, times, durations


def _cold(proxy, command, env, ev, judge, what, runs):
    """Cold starts: per start (calls, rounds, AWS wait) from process start to the answer,
    of which calls made before the function asked for its first event; hashing medians."""
    path = os.path.join(ROOT, ".local", "bench-per-request.log")
    per_start, at_init, hashing, times = [], [], [], []
    for i in range(runs):
        mark = proxy.mark()
        with open(path, "w") as out, Instance(command, env, out) as fn:
            kind, reply, at = fn.invoke(ev)
            calls = proxy.calls_since(mark)
        check(kind == "response", f"{what} #{i}: want a response", (kind, reply))
        judge(reply, f"{what} #{i}")
        per_start.append(_split(calls))
        at_init.append(sum(1 for c in calls if c.start < fn.api.ready_at))
        hashing += [line["hashing_ms"] for line in log_lines(path) if "hashing_ms" in line]
        times.append((at - fn.started) * 1000)
    return per_start, at_init, hashing, times


def _same(values):
    """The value when every request had it; otherwise the values seen (no number first, so
    a target row reads `no`)."""
    seen = sorted(set(values))
    return f"{seen[0]:g}" if len(seen) == 1 else "varies: " + ", ".join(f"{v:g}" for v in seen)


def per_request_rows(plan, stack):
    fn, authz = plan.binary("authorize-app"), plan.binary("token-authorizer")
    write_sample_tokens()
    legacy = event("token-authorizer/http-api-v2", "valid")
    head = "calls / sequential rounds / AWS wait / hashing / own CPU"
    rows = []
    with (
        LatencyProxy("127.0.0.1", stack.port, DELAY_MS) as proxy,
        Instance(fn, stack.env) as issuer,
    ):
        env = through(stack, proxy)
        new = authorizer_event(issue_tokens(fn, stack.env, 1)[0])
        warm = {
            "direct approval 302": (fn, event, issued, plan.warm_runs),
            "Python/boto3 peer 302": (PYTHON_PEER, event, issued, plan.warm_runs),
            "authorizer check, token issued now": (authz, lambda: new, authorized, plan.authz_runs),
            "authorizer check, older token (events/token-authorizer)": (
                authz,
                lambda: legacy,
                authorized,
                plan.authz_runs,
            ),
            # Each exchange's code comes from another instance, on moto directly.
            "token endpoint code exchange": (
                fn,
                lambda: exchange_event(issue_code(issuer)),
                exchanged,
                plan.warm_runs,
            ),
        }
        colds = {"direct approval 302": fn, "Python/boto3 peer 302": PYTHON_PEER}
        if base := baseline():
            # The same request types on another build (an earlier commit): before -> after.
            old = os.path.join(base, "authorize-app")
            old_authz = os.path.join(base, "token-authorizer")
            its_own = authorizer_event(issue_tokens(old, stack.env, 1)[0])
            warm["baseline direct approval 302"] = (old, event, issued, plan.warm_runs)
            warm["baseline authorizer check, a token it issued"] = (
                old_authz,
                lambda: its_own,
                authorized,
                plan.authz_runs,
            )
            colds["baseline direct approval 302"] = old
        figures = {}
        for label, (command, next_event, judge, runs) in warm.items():
            figures[label] = _warm(proxy, command, env, next_event, judge, label, runs)
            per_request, hashing, cpu_ms, times, _ = figures[label]
            rows.append(
                (
                    f"{label}, warm (n={runs}): {head}",
                    "",
                    _summary(per_request, hashing, times, cpu_ms),
                )
            )
        for label, command in colds.items():
            starts, at_init, hashing, times = _cold(
                proxy, command, env, event(), issued, f"cold {label}", plan.runs
            )
            rows.append(
                (
                    f"{label}, cold (n={plan.runs}): {head.replace(' / own CPU', '')}; "
                    "calls made before the first event",
                    "",
                    _summary(starts, hashing, times) + f"; {statistics.median(at_init):g} before",
                )
            )
    new_rounds = [r for _, r, _ in figures["authorizer check, token issued now"][0]]
    old_rounds = [
        r for _, r, _ in figures["authorizer check, older token (events/token-authorizer)"][0]
    ]
    _, _, cpu_ms, times, durations = figures["authorizer check, token issued now"]
    one_trip = statistics.median(durations)
    check_ms = statistics.median(times)
    return [
        *rows,
        ("authorizer sequential rounds per check, token issued now", "1", _same(new_rounds)),
        ("authorizer sequential rounds per check, older token", "<= 2", _same(old_rounds)),
        (
            "authorizer warm check vs one proxy round trip + its own CPU",
            "<= 1.2x",
            f"{check_ms / (one_trip + cpu_ms):.2f}x "
            f"({check_ms:.2f} vs {one_trip:.2f} + {cpu_ms:.2f} ms)",
        ),
    ]
