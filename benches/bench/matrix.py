"""What a CI matrix's wait costs: N right logins for one name at once, on N instances of
the function (tests/support/fleet.py), against one login alone. One password is verified per name
at a time, so the others wait their turn inside their requests: the cost is Lambda
duration, read from each request's own log line (`total_ms`)."""

import statistics

from fleet import Fleet

from .events import event, with_auth, with_body
from .setup import QUAY_REDIRECT

JOBS = 20


def _durations(plan, stack, jobs, name, password):
    login = with_auth(event(), name, password)
    # No credentials: answered without a counter or a token, it warms the instance.
    warm_up = with_body(event(), f"client_id=some_client_id&redirect_uri={QUAY_REDIRECT}")
    with Fleet(jobs, stack.env, binary=plan.binary("authorize-app")) as fleet:
        fleet.warm(warm_up)
        answers = fleet.fire([login] * jobs)
        lines = [line for line in fleet.logs() if line.get("event") == "token_issued"]
    statuses = sorted({a[0] for a in answers}, key=str)
    if statuses != [302] or len(lines) != jobs:
        raise SystemExit(
            f"matrix bench: {jobs} logins answered {statuses}, {len(lines)} token lines"
        )
    return sorted(line["total_ms"] for line in lines)


def matrix_rows(plan, stack):
    jobs = 2 if plan.dry_run else JOBS
    rows = []
    for n, label in ((1, "one login alone"), (jobs, f"{jobs} right logins for one name at once")):
        name = f"matrix-{n}"
        stack.admin("user", "add", name, "--password-stdin", stdin="matrix password\n")
        ms = _durations(plan, stack, n, name, "matrix password")
        rows.append(
            (
                f"Lambda duration, {label} (median / max)",
                "",
                f"{statistics.median(ms):.0f} / {max(ms):.0f} ms",
            )
        )
    return rows
