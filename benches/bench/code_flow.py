"""The token endpoint: its cold and warm exchange times, and the round trips of an
exchange and of an introspection. Codes come from a separate warm instance, so the timed
instance does the exchange only."""

import base64
import json
import statistics

from .answers import check, exchanged, status_is
from .events import event, exchange_event, with_body
from .setup import QUAY_REDIRECT
from .timing import Instance, cold_start, request_logs, timed_invocations


def issue_code(issuer):
    """A code from a running instance, for the sample verifier."""
    kind, reply, _ = issuer.invoke(event(scenario="code"))
    check(kind == "response" and reply.get("statusCode") == 302, "code: want 302", reply)
    location = {k.lower(): v for k, v in reply["headers"].items()}["location"]
    return location.split("?code=", 1)[1].split("&", 1)[0]


def _round_trips(fn, env, issuer, secret):
    """The request log lines of one exchange and of one introspection of its token, by a
    confidential application."""
    token = {}

    def keep(reply, what):
        exchanged(reply, what)
        token.update(json.loads(reply["body"]))

    logs = request_logs(fn, env, [("exchange", exchange_event(issue_code(issuer)), keep, 0)])
    ask = with_body(event(), f"token={token['access_token']}", "/oauth/introspect")
    ask["headers"]["authorization"] = (
        "Basic " + base64.b64encode(f"bench_confidential:{secret}".encode()).decode()
    )
    return logs + request_logs(fn, dict(env), [("introspection", ask, status_is(200), 0)])


def code_flow_rows(plan, stack):
    fn, env = plan.binary("authorize-app"), stack.env
    out = stack.admin(
        "app", "add", "bench_confidential", "--redirect-uri", QUAY_REDIRECT, "--confidential"
    )
    secret = out.strip().rsplit(" ", 1)[1]
    with Instance(fn, env) as issuer:
        colds = [
            cold_start(
                fn, env, exchange_event(issue_code(issuer)), exchanged, f"cold exchange #{i}"
            )[0]
            for i in range(plan.runs)
        ]
        with Instance(fn, env) as timed:
            warm = timed_invocations(
                timed,
                lambda: exchange_event(issue_code(issuer)),
                exchanged,
                "warm exchange",
                plan.warm_runs,
                skip=3,
            )
        logs = _round_trips(fn, env, issuer, secret)
    return [
        (
            f"token endpoint cold start, exchange 200 (median of {plan.runs})",
            "",
            f"{statistics.median(colds):.1f} ms",
        ),
        (
            f"token endpoint warm exchange (median of {plan.warm_runs})",
            "",
            f"{statistics.median(warm):.1f} ms",
        ),
        ("DynamoDB round trips per exchange", "", str(logs[0]["dynamodb_calls"])),
        ("DynamoDB round trips per introspection", "1", str(logs[1]["dynamodb_calls"])),
    ]
