"""What the --aws sections share: the functions compared (ours, hello-world, the Python peer,
the JWT peer authorizer), their events, and a process's CPU time. Every AWS call of a
function under test passes tests/support/latency_proxy.py, which adds a fixed delay per
call as in-region DynamoDB does and records each call."""

import json
import os
import sys
import time
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from .answers import authorized, check, issued, says_hello
from .events import event
from .setup import ROOT
from .timing import Instance

DELAY_MS = 4.0  # an in-region DynamoDB call (issue 36)
HELLO = os.path.join("examples", "hello-lambda")
JWT_PEER = os.path.join("examples", "jwt-authorizer")
# The Python/boto3 peer of direct approval, run by this interpreter (the venv's boto3).
PYTHON_PEER = [sys.executable, os.path.join(ROOT, "benches", "peer", "direct_approval.py")]


def through(stack, proxy):
    """The functions' environment with every AWS call through `proxy` (None: moto on
    loopback), and an hour-long whitelist cache, so warm requests are the steady state."""
    env = dict(stack.env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600")
    if proxy is not None:
        env["AWS_ENDPOINT_URL"] = proxy.url
    return env


def token_of(reply):
    """The access token in a 302's Location fragment."""
    headers = {k.lower(): v for k, v in reply["headers"].items()}
    return parse_qs(urlsplit(headers["location"]).fragment)["access_token"][0]


def issue_tokens(binary, env, count, login=None):
    """`count` tokens issued by our function itself (the Quay example's 302), in the form
    tokens get from now on."""
    tokens = []
    with Instance(binary, env) as fn:
        for i in range(count):
            kind, reply, _ = fn.invoke(login or event())
            check(kind == "response", f"token for the authorizer #{i}: want a response", reply)
            issued(reply, f"token for the authorizer #{i}")
            tokens.append(token_of(reply))
    return tokens


def authorizer_event(token):
    """The HTTP API v2 authorizer sample with another bearer token."""
    e = event("token-authorizer/http-api-v2", "valid")
    e["headers"]["authorization"] = e["identitySource"][0] = f"Bearer {token}"
    return e


class JwtKeys:
    """An ES256 key pair for the JWT peer: it gets the public JWK, the bench signs."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256")
        self.env = {"JWT_PUBLIC_JWK": json.dumps(self.key.as_dict(private=False))}

    def token(self, n):
        now = int(time.time())
        claims = {
            "sub": "username",
            "client_id": "some_client_id",
            "scope": "repo:write org:admin",
            "jti": f"jwt-{n}",
            "iat": now,
            "exp": now + 3600,
        }
        return jwt.encode({"alg": "ES256"}, claims, self.key)


def baseline():
    """Another build's binaries to measure beside these in the same run (BENCH_BASELINE, a
    directory like target/release, e.g. of an earlier commit), or None."""
    return os.environ.get("BENCH_BASELINE") or None


def contenders(plan, stack, env):
    """(label, command, environment, event, judge) of the functions compared side by side:
    one token for the authorizers, issued by our function (ours) or signed here (JWT); with a
    baseline, its 302 and its authorizer (with a token it issued) too."""
    fn = plan.binary("authorize-app")
    keys = JwtKeys()
    token = issue_tokens(fn, stack.env, 1)[0]
    them = [
        ("hello-world", plan.binary(HELLO), env, event(), says_hello),
        ("direct-oauth 302", fn, env, event(), issued),
        ("Python/boto3 peer 302", PYTHON_PEER, env, event(), issued),
        (
            "token-authorizer",
            plan.binary("token-authorizer"),
            env,
            authorizer_event(token),
            authorized,
        ),
        (
            "JWT peer authorizer",
            plan.binary(JWT_PEER),
            dict(env, **keys.env),
            authorizer_event(keys.token(0)),
            authorized,
        ),
    ]
    if base := baseline():
        old = os.path.join(base, "authorize-app")
        old_token = issue_tokens(old, stack.env, 1)[0]
        them += [
            ("baseline direct-oauth 302", old, env, event(), issued),
            (
                "baseline token-authorizer",
                os.path.join(base, "token-authorizer"),
                env,
                authorizer_event(old_token),
                authorized,
            ),
        ]
    return them


def cpu_seconds(pid):
    """User + system CPU of a process, every thread included (dead ones too), to the
    nanosecond: Linux's process CPU clock of `pid` (clock id `(~pid << 3) | 2`, what
    clock_getcpuclockid(3) gives), where /proc/PID/stat counts in ticks of 10 ms."""
    return time.clock_gettime_ns((~pid << 3) | 2) / 1e9


def log_lines(path):
    """The JSON lines of a function's output that report a request (ours and the peer's)."""
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    return [line for line in lines if "total_ms" in line]
