"""How a figure is taken from the real function on a local Runtime API: a cold start (and
its split), warm requests on one process, and the request log lines that count round
trips. Every answer is judged before its time counts."""

import json
import os
import statistics
import subprocess
import time

from runtime_api import RuntimeApi

from .answers import check, issued
from .setup import ROOT


class Instance:
    """One function process on a Runtime API of its own, its output to `out`; killed on
    leaving the `with`. `started`: just before the process was started."""

    def __init__(self, binary, env, out=subprocess.DEVNULL):
        self.api = RuntimeApi()
        self.started = time.monotonic()
        self.proc = self.api.start_function(binary, env, stdout=out, stderr=subprocess.STDOUT)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.proc.kill()
        self.proc.wait()
        self.api.close()

    def invoke(self, ev):
        """(kind, reply, monotonic time the answer was received)."""
        return self.api.invoke(ev)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cold_start(binary, env, ev, judge, what):
    """Process start -> first response received (ms), and peak RSS then (KiB); the
    answer is judged before the time counts."""
    with Instance(binary, env) as fn:
        kind, reply, at = fn.invoke(ev)
        rss = peak_rss_kib(fn.proc.pid)
    check(kind == "response", what + ": want a response", (kind, reply))
    judge(reply, what)
    return (at - fn.started) * 1000, rss


def cold_split(binary, env, ev, what):
    """One cold start of a Quay example 302, split: (process start -> first request for an
    event: start-up, the request's own time, and of that the AWS wait and the password
    hashing its log line reports)."""
    path = os.path.join(ROOT, ".local", "bench-cold.log")
    with open(path, "w") as out, Instance(binary, env, out) as fn:
        kind, reply, at = fn.invoke(ev)
    check(kind == "response", what + ": want a response", (kind, reply))
    issued(reply, what)
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.startswith("{") and "total_ms" in line]
    check(len(lines) == 1, what + ": one request log line", lines)
    ready = fn.api.ready_at
    return dict(
        total=(at - fn.started) * 1000,
        startup=(ready - fn.started) * 1000,
        request=(at - ready) * 1000,
        aws=lines[0]["aws_ms"],
        hashing=lines[0]["hashing_ms"],
    )


def timed_invocations(fn, next_event, judge, what, runs, skip):
    """Invocation -> response times (ms) of `runs` requests on a running Instance, after
    `skip` warm-up requests; every answer, warm-up included, is judged. `next_event()`
    gives each request's event, before its time starts."""
    times = []
    for i in range(skip + runs):
        ev = next_event()
        t0 = time.monotonic()
        kind, reply, at = fn.invoke(ev)
        check(kind == "response", f"{what} #{i}: want a response", (kind, reply))
        judge(reply, f"{what} #{i}")
        if i >= skip:
            times.append((at - t0) * 1000)
    return times


def warm_latency(binary, env, ev, judge, what, runs, skip=3):
    """Median invocation -> response time on one process, after `skip` warm-up requests."""
    with Instance(binary, env) as fn:
        return statistics.median(timed_invocations(fn, lambda: ev, judge, what, runs, skip))


def request_logs(binary, env, steps):
    """Runs (label, event, judge, pause before) steps on one process; judges each answer and
    returns the request log lines, one per step, checked to carry the answered status."""
    path = os.path.join(ROOT, ".local", "bench-function.log")
    statuses = []
    with open(path, "w") as out, Instance(binary, env, out) as fn:
        for label, ev, judge, pause in steps:
            time.sleep(pause)
            kind, reply, _ = fn.invoke(ev)
            check(kind == "response", label + ": want a response", (kind, reply))
            judge(reply, label)
            statuses.append(reply["statusCode"])
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    lines = [line for line in lines if "dynamodb_calls" in line]
    check(len(lines) == len(steps), f"one request log line per request ({len(steps)})", lines)
    for (label, *_), line, status in zip(steps, lines, statuses, strict=True):
        check(line.get("status") == status, f"{label}: log line for status {status}", line)
    return lines
