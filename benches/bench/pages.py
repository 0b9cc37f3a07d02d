"""The pages' cost beside direct approval's: each request of a sign-in, a consent and an
API token's creation, warm, with its DynamoDB round trips from the request's own log
line, and direct approval's 302 on the same process. Each run is a new person (so the
consent page is asked, not skipped), on one warm process; every answer is checked before
it is counted."""

import base64
import json
import os
import statistics
import time
import uuid
from urllib.parse import urlencode

from .answers import check, issued
from .events import event
from .setup import QUAY_REDIRECT, ROOT
from .timing import Instance, timed_invocations

HOST = "id.execute-api.us-east-1.amazonaws.com"  # the sample events' host: the issuer's
ORIGIN = "https://" + HOST
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
REQUEST = {
    "client_id": "some_client_id",
    "redirect_uri": QUAY_REDIRECT,
    "response_type": "code",
    "scope": "repo:read",
    "state": "bench",
    "code_challenge": CHALLENGE,
    "code_challenge_method": "S256",
}
STEPS = [
    "sign-in page",
    "sign-in",
    "consent page",
    "consent (code)",
    "Tokens page",
    "API token created",
]


def page_event(method, path, query="", form=None, cookie=None):
    """An HTTP API v2 event of a browser's request to the pages."""
    e = event(scenario="get" if method == "GET" else "success")
    e["headers"].pop("authorization", None)
    e["rawPath"] = e["requestContext"]["http"]["path"] = path
    e["rawQueryString"] = query
    e["requestContext"]["http"]["method"] = method
    if form is not None:
        e["headers"]["origin"] = ORIGIN
        e["headers"]["content-type"] = "application/x-www-form-urlencoded"
        e["body"] = base64.b64encode(urlencode(form).encode()).decode()
        e["isBase64Encoded"] = True
    if cookie:
        e["cookies"] = [cookie]
    return e


def csrf_of(reply):
    body = reply.get("body") or ""
    check('name="csrf" value="' in body, "want a form with a CSRF token", reply)
    return body.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def status(want):
    def judge(reply, what):
        check(reply.get("statusCode") == want, f"{what}: want {want}", reply)
        return reply

    return judge


def one_person(fn, stack):
    """The six requests of one person, each (label, ms); their replies judged."""
    name = "bench-" + uuid.uuid4().hex[:8]
    stack.admin("user", "add", name, "--password-stdin", stdin="bench password\n")
    times = []

    def step(label, ev, want):
        t0 = time.monotonic()
        kind, reply, at = fn.invoke(ev)
        check(kind == "response", label + ": want a response", reply)
        status(want)(reply, label)
        times.append((label, (at - t0) * 1000))
        return reply

    query = urlencode(REQUEST)
    step("sign-in page", page_event("GET", "/oauth/authorize", query), 200)
    signed = step(
        "sign-in",
        page_event(
            "POST", "/oauth/signin", form=dict(REQUEST, username=name, password="bench password")
        ),
        303,
    )
    cookie = (signed.get("cookies") or [""])[0].split(";", 1)[0]
    check(cookie.startswith("__Host-doa_session="), "sign-in: want the session cookie", signed)
    consent = step("consent page", page_event("GET", "/oauth/authorize", query, cookie=cookie), 200)
    form = dict(REQUEST, csrf=csrf_of(consent), decision="allow")
    step("consent (code)", page_event("POST", "/oauth/authorize", form=form, cookie=cookie), 302)
    tokens = step("Tokens page", page_event("GET", "/oauth/tokens", cookie=cookie), 200)
    form = {
        "csrf": csrf_of(tokens),
        "client_id": "some_client_id",
        "name": "bench",
        "scope.repo:read": "on",
        "life": "7",
    }
    made = step(
        "API token created", page_event("POST", "/oauth/tokens", form=form, cookie=cookie), 200
    )
    check('id="created-token"' in (made.get("body") or ""), "want the token shown", made)
    return times


def pages_rows(plan, stack):
    path = os.path.join(ROOT, ".local", "bench-pages.log")
    env = dict(stack.env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="3600")
    env.pop("DIRECT_OAUTH_ISSUER", None)  # the issuer is the events' host
    runs = max(plan.warm_runs // 3, 2)
    with open(path, "w") as out, Instance(plan.binary("authorize-app"), env, out) as fn:
        one_person(fn, stack)  # warm-up: the whitelist, the nonce secret, the connections
        people = [one_person(fn, stack) for _ in range(runs)]
        # Direct approval beside them, on the same warm process: the Quay example's 302.
        direct = timed_invocations(fn, event, issued, "direct approval", runs, skip=1)
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    calls = [line["dynamodb_calls"] for line in lines if "dynamodb_calls" in line]
    want = len(STEPS) * (runs + 1) + runs + 1
    check(len(calls) == want, "one request log line per request", lines[-3:])
    pages_calls = calls[: len(STEPS) * (runs + 1)]
    last = pages_calls[-len(STEPS) :]
    rows = [
        (
            f"direct approval 302, warm (median of {runs})",
            "",
            f"{statistics.median(direct):.1f} ms",
        ),
        ("direct approval 302, DynamoDB round trips", "", str(calls[-1])),
    ]
    for i, label in enumerate(STEPS):
        median = statistics.median(person[i][1] for person in people)
        rows.append((f"pages: {label}, warm (median of {runs})", "", f"{median:.1f} ms"))
        rows.append((f"pages: {label}, DynamoDB round trips", "", str(last[i])))
    return rows
