"""What tools that sign in without the password cost (issue 35), warm, with each request's
DynamoDB round trips from its own log line: a code's exchange that starts a refresh
family, a refresh (one rotation), a device authorization, a poll before the person
decided, the person's approval on the verification page, and the poll that gets the
token. One warm process; every answer is checked before it is counted."""

import base64
import hashlib
import json
import os
import statistics
import time
import uuid
from urllib.parse import urlencode

from .answers import check
from .events import VERIFIER, event, with_auth, with_body
from .pages import csrf_of, page_event
from .setup import QUAY_REDIRECT, ROOT
from .timing import Instance

CLIENT = "bench_tool"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
STEPS = [
    "code exchange, a family started",
    "refresh (rotation)",
    "device authorization",
    "device poll, pending",
    "verification page: the request",
    "verification page: allow",
    "device poll, token issued",
]


def form_event(path, form):
    return with_body(event(), urlencode(form), path)


def one_round(fn, stack):
    """Each request of one tool's sign-ins, (label, ms); their replies judged."""
    times = []

    def step(label, ev, want, timed=True):
        t0 = time.monotonic()
        kind, reply, at = fn.invoke(ev)
        check(kind == "response", f"{label}: want a response", reply)
        check(reply.get("statusCode") == want, f"{label}: want {want}", reply)
        if timed:
            times.append((label, (at - t0) * 1000))
        return reply

    code_ask = with_body(event(scenario="code"), code_ask_form(), "/oauth/authorizeapp")
    code_ask = with_auth(code_ask, "username", "passwordhere")
    location = {k.lower(): v for k, v in step("code", code_ask, 302, False)["headers"].items()}
    code = location["location"].split("?code=", 1)[1].split("&", 1)[0]
    exchange = {"grant_type": "authorization_code", "client_id": CLIENT, "code": code}
    exchange.update(code_verifier=VERIFIER, redirect_uri=QUAY_REDIRECT)
    started = json.loads(step(STEPS[0], form_event("/oauth/token", exchange), 200)["body"])
    refresh = {"grant_type": "refresh_token", "client_id": CLIENT}
    refresh["refresh_token"] = started["refresh_token"]
    step(STEPS[1], form_event("/oauth/token", refresh), 200)
    ask = {"client_id": CLIENT, "scope": "repo:read"}
    codes = json.loads(step(STEPS[2], form_event("/oauth/device_authorization", ask), 200)["body"])
    poll = {"grant_type": DEVICE_GRANT, "client_id": CLIENT, "device_code": codes["device_code"]}
    time.sleep(codes["interval"])
    step(STEPS[3], form_event("/oauth/token", poll), 400)
    approve(step, stack, codes["user_code"])
    time.sleep(codes["interval"])
    step(STEPS[6], form_event("/oauth/token", poll), 200)
    return times


def code_ask_form():
    digest = hashlib.sha256(VERIFIER.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return urlencode(
        {
            "client_id": CLIENT,
            "redirect_uri": QUAY_REDIRECT,
            "response_type": "code",
            "scope": "repo:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )


def approve(step, stack, user_code):
    """The person: signs in (untimed), the request's page, the approval."""
    name = "bench-" + uuid.uuid4().hex[:8]
    stack.admin("user", "add", name, "--password-stdin", stdin="bench password\n")
    signin = {"next": "device", "user_code": user_code, "username": name}
    signin["password"] = "bench password"
    signed = step("sign-in", page_event("POST", "/oauth/signin", form=signin), 303, False)
    cookie = (signed.get("cookies") or [""])[0].split(";", 1)[0]
    entry = step("entry", page_event("GET", "/oauth/device", cookie=cookie), 200, False)
    form = {"csrf": csrf_of(entry), "user_code": user_code}
    step(STEPS[4], page_event("POST", "/oauth/device", form=form, cookie=cookie), 200)
    form["decision"] = "allow"
    allowed = step(STEPS[5], page_event("POST", "/oauth/device", form=form, cookie=cookie), 200)
    check("Device connected" in (allowed.get("body") or ""), "want the approval", allowed)


def tools_rows(plan, stack):
    stack.admin(
        "app", "add", CLIENT, "--redirect-uri", QUAY_REDIRECT,
        "--refresh-tokens", "--device-grant",
    )  # fmt: skip
    path = os.path.join(ROOT, ".local", "bench-tools.log")
    env = dict(stack.env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600")
    env.pop("DIRECT_OAUTH_ISSUER", None)  # the issuer is the events' host
    stack.admin("whitelist", "add", CLIENT)
    runs = max(plan.warm_runs // 10, 2)
    with open(path, "w") as out, Instance(plan.binary("authorize-app"), env, out) as fn:
        one_round(fn, stack)  # warm-up
        rounds = [one_round(fn, stack) for _ in range(runs)]
    with open(path) as f:
        logged = [json.loads(line) for line in f if line.startswith("{")]
    by_event = [line for line in logged if "dynamodb_calls" in line]
    per_round = len(by_event) // (runs + 1)
    last = by_event[-per_round:]
    # The round's requests in order: code, the STEPS with the sign-in and entry between.
    timed_at = [1, 2, 3, 4, 7, 8, 9]
    rows = []
    for i, label in enumerate(STEPS):
        median = statistics.median(r[i][1] for r in rounds)
        rows.append((f"tools: {label}, warm (median of {runs})", "", f"{median:.1f} ms"))
        calls = last[timed_at[i]]["dynamodb_calls"]
        rows.append((f"tools: {label}, DynamoDB round trips", "", str(calls)))
    return rows
