"""AWS round trips per request, from the function's own log lines: DynamoDB on a warm
success, SSM on a cold start, a warm request and after the whitelist cache expired."""

from .answers import issued
from .events import event
from .timing import request_logs


def round_trip_rows(plan, stack):
    fn = plan.binary("authorize-app")
    # The warm request runs on an hour-long cache (inside it whatever the machine's
    # speed); cache expiry on a second process with a 1 s cache, waited out.
    cached = dict(stack.env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600")
    cold, warm = request_logs(
        fn, cached, [("cold success", event(), issued, 0), ("warm success", event(), issued, 0)]
    )
    short = dict(stack.env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="1")
    _, expired = request_logs(
        fn,
        short,
        [("first success", event(), issued, 0), ("success after expiry", event(), issued, 1.1)],
    )
    return [
        ("DynamoDB round trips, warm success", "<= 2", str(warm["dynamodb_calls"])),
        ("SSM calls, warm success", "0", str(warm["ssm_calls"])),
        ("SSM calls, cold start", "1", str(cold["ssm_calls"])),
        ("SSM calls, after cache expiry", "1", str(expired["ssm_calls"])),
    ]
