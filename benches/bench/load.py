"""Under load: many warm instances at once for a bounded time, through the latency proxy,
each driven by its own closed loop (the next request as soon as the answer is in), as
Lambda runs one request at a time per instance. Our authorizer, the JWT peer that reads
nothing (the floor of a token check), and direct approval. Every answer is judged; a wrong
one or a timeout counts as an error instead of a time."""

import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time

from .answers import BenchError, authorized, issued
from .events import event, with_auth
from .proxied import DELAY_MS, JWT_PEER, JwtKeys, authorizer_event, issue_tokens, through
from .setup import ROOT
from .timing import Instance

INSTANCES = 8


def _drive(instances, events, judge, seconds):
    """Every instance answers its event once (its cold start, not counted), then each is
    driven by a thread of its own for `seconds`: (times in ms, errors, elapsed s)."""
    times, errors = [], [0]
    lock = threading.Lock()

    def answered(fn, ev, what):
        try:
            kind, reply, _ = fn.api.invoke(ev, timeout=30)
            judge(reply if kind == "response" else None, what)
            return True
        except (BenchError, TimeoutError):
            return False

    for i, fn in enumerate(instances):
        answered(fn, events[i], f"load warm-up #{i}")
    deadline = time.monotonic() + seconds

    def loop(fn, ev, i):
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            ok = answered(fn, ev, f"load instance #{i}")
            with lock:
                if ok:
                    times.append((time.monotonic() - t0) * 1000)
                else:
                    errors[0] += 1

    started = time.monotonic()
    threads = [
        threading.Thread(target=loop, args=(fn, events[i], i)) for i, fn in enumerate(instances)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0], time.monotonic() - started


def _run(command, env, events, judge, seconds):
    with contextlib.ExitStack() as running:
        instances = [running.enter_context(Instance(command, env)) for _ in events]
        return _drive(instances, events, judge, seconds)


@contextlib.contextmanager
def _proxy_process(moto_port):
    """The latency proxy in a process of its own (yields its URL): here it would share this
    process's one GIL with the eight drivers and their Runtime APIs."""
    script = os.path.join(ROOT, "tests", "support", "latency_proxy.py")
    proc = subprocess.Popen(
        [sys.executable, script, str(moto_port), str(DELAY_MS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()


def _row(label, seconds, result):
    times, errors, elapsed = result
    if len(times) < 2:
        return (f"load, {label}", "", f"no answers ({errors} errors)"), None
    p50, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
    text = (
        f"{p50:.2f} / {p99:.2f} ms, {errors} errors, {len(times) / elapsed:.0f} req/s"
        f" ({len(times)} requests)"
    )
    name = f"load, {label}, {INSTANCES} instances x {seconds:g} s: p50 / p99 / errors / rate"
    return (name, "", text), p99 / p50


def load_rows(plan, stack):
    seconds, fn = plan.load_seconds, plan.binary("authorize-app")
    # A login per user at a time: the same username's logins wait for each other by design
    # (claim-before-verify), so each instance logs in as a user of its own.
    users = [f"loaduser{i}" for i in range(INSTANCES)]
    for user in users:
        stack.admin("user", "add", user, "--password-stdin", stdin="passwordhere\n")
    logins = [with_auth(event(), user, "passwordhere") for user in users]
    # The authorizer's tokens are issued by the function itself, in today's form.
    tokens = [issue_tokens(fn, stack.env, 1, login)[0] for login in logins]
    keys = JwtKeys()
    rows = []
    with _proxy_process(stack.port) as url:
        env = dict(through(stack, None), AWS_ENDPOINT_URL=url)
        runs = [
            (
                "token-authorizer",
                plan.binary("token-authorizer"),
                env,
                [authorizer_event(t) for t in tokens],
                authorized,
            ),
            (
                "JWT peer authorizer",
                plan.binary(JWT_PEER),
                dict(env, **keys.env),
                [authorizer_event(keys.token(i)) for i in range(INSTANCES)],
                authorized,
            ),
            ("direct approval 302", fn, env, logins, issued),
        ]
        for label, command, fn_env, events, judge in runs:
            row, spread = _row(label, seconds, _run(command, fn_env, events, judge, seconds))
            rows.append(row)
            if label == "token-authorizer":
                rows.append(
                    (
                        "load p99 / p50, token-authorizer",
                        "<= 2.0x",
                        f"{spread:.2f}x" if spread else "no answers",
                    )
                )
    return rows
