"""DPoP's cost: a proof's check is a signature verification (criterion, benches/core.rs)
and, for the replay guard, one conditional write beside the request's first read. Warm
direct approvals, exchanges and authorizer checks, each with and without a fresh proof by
the sample key (tools/gen_events.py), on one instance per kind."""

import base64
import hashlib
import json
import statistics
import time
import uuid

from joserfc import jwk, jws

from gen_events import BOUND_TOKEN, SAMPLE_DPOP_KEY
from sample_tokens import write as write_sample_tokens

from .answers import authorized, check, exchanged, issued
from .code_flow import issue_code
from .events import event, exchange_event
from .timing import Instance, timed_invocations

ISSUER = "https://bench.example"
API = "https://api.bench.example"
# DynamoDB on-demand, us-east-1: USD per million write request units (an item under 1 KB
# is one unit; a refused conditional write costs one too).
WRITE_USD_PER_MILLION = 0.625


def proof(htm, htu, token=None):
    """A fresh proof (new jti, iat now) by the sample key."""
    key = jwk.ECKey.import_key(SAMPLE_DPOP_KEY)
    claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
    if token:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), key)


def with_proof(ev, htm, htu, token=None):
    ev = json.loads(json.dumps(ev))
    ev["headers"]["dpop"] = proof(htm, htu, token)
    return ev


def bound(reply, what):
    issued(reply, what)
    location = {k.lower(): v for k, v in reply["headers"].items()}["location"]
    check("token_type=DPoP" in location, f"{what}: want a bound token", location)


def warm(binary, env, next_event, judge, what, runs):
    with Instance(binary, env) as fn:
        return statistics.median(timed_invocations(fn, next_event, judge, what, runs, skip=3))


def dpop_rows(plan, stack):
    fn, authz = plan.binary("authorize-app"), plan.binary("token-authorizer")
    env = dict(stack.env, DIRECT_OAUTH_ISSUER=ISSUER, DIRECT_OAUTH_API_URL=API)
    runs = plan.warm_runs
    approval = warm(fn, env, event, issued, "approval", runs)

    def approval_with_proof():
        return with_proof(event(), "POST", ISSUER + "/oauth/authorizeapp")

    approval_dpop = warm(fn, env, approval_with_proof, bound, "approval with DPoP", runs)
    with Instance(fn, env) as issuer:

        def code():
            return exchange_event(issue_code(issuer))

        def code_with_proof():
            return with_proof(code(), "POST", ISSUER + "/oauth/access_token")

        exchange = warm(fn, env, code, exchanged, "exchange", runs)
        exchange_dpop = warm(fn, env, code_with_proof, exchanged, "exchange with DPoP", runs)
    write_sample_tokens()
    check_event = event("token-authorizer/http-api-v2", "valid")
    bearer = warm(authz, env, lambda: check_event, authorized, "authorizer", plan.authz_runs)
    dpop_event = event("token-authorizer/http-api-v2", "dpop-stale-proof")

    def fresh():
        return with_proof(dpop_event, "GET", API + "/whoami", BOUND_TOKEN)

    dpop = warm(authz, env, fresh, authorized, "authorizer with DPoP", plan.authz_runs)
    extra_ms = dpop - bearer
    # arm64 Lambda: USD per GB-second; the authorizer has 256 MB.
    duration_usd = max(extra_ms, 0) / 1000 * 0.25 * 0.0000133334 * 1e6
    return [
        (
            f"direct approval warm, Bearer / DPoP (median of {runs})",
            "",
            f"{approval:.1f} / {approval_dpop:.1f} ms",
        ),
        (
            f"token endpoint warm exchange, Bearer / DPoP (median of {runs})",
            "",
            f"{exchange:.1f} / {exchange_dpop:.1f} ms",
        ),
        (
            f"authorizer warm check, Bearer / DPoP (median of {plan.authz_runs})",
            "",
            f"{bearer:.2f} / {dpop:.2f} ms",
        ),
        (
            "DPoP's extra cost per million authorizer checks (one write; its duration)",
            "",
            f"${WRITE_USD_PER_MILLION:.3f} write + ${duration_usd:.3f} duration",
        ),
    ]
