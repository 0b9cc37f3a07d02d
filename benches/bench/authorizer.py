"""The token authorizer: its cold start, and a warm check's latency and DynamoDB round
trips, on the sample tokens of events/token-authorizer/."""

import json
import os
import statistics

from sample_tokens import write as write_sample_tokens

from .answers import authorized, check
from .events import event
from .setup import ROOT
from .timing import Instance, cold_start, timed_invocations


def _warm_checks(authz, env, valid, runs):
    """The warm checks' times (ms), after one warm-up, and the authorizer's log lines."""
    path = os.path.join(ROOT, ".local", "bench-authorizer.log")
    with open(path, "w") as out, Instance(authz, env, out) as fn:
        warm = timed_invocations(fn, lambda: valid, authorized, "authorizer warm", runs, skip=1)
    with open(path) as f:
        judged = [json.loads(line) for line in f if '"authorizer"' in line]
    check(len(judged) == runs + 1, "one authorizer log line per check", len(judged))
    return warm, judged


def authorizer_rows(plan, stack):
    write_sample_tokens()
    authz, valid = plan.binary("token-authorizer"), event("token-authorizer/http-api-v2", "valid")
    colds = [
        cold_start(authz, stack.env, valid, authorized, f"authorizer cold #{i}")[0]
        for i in range(plan.runs)
    ]
    warm, judged = _warm_checks(authz, stack.env, valid, plan.authz_runs)
    calls = {line.get("dynamodb_calls") for line in judged}
    # Every check's log line must say 2 (the token, then its user); "2" only when all do.
    seen = ",".join(str(c) for c in sorted(calls, key=str)) or "none logged"
    return [
        (
            f"authorizer cold start (median of {plan.runs})",
            "",
            f"{statistics.median(colds):.1f} ms",
        ),
        (
            f"authorizer warm check, moto on loopback (median of {plan.authz_runs})",
            "",
            f"{statistics.median(warm):.2f} ms",
        ),
        (
            "authorizer DynamoDB round trips per check (the token, then its user)",
            "2",
            "2" if calls == {2} else f"not all 2: {seen}",
        ),
    ]
