"""The events the bench sends: the samples in events/, and variations of them."""

import base64
import json
import os

from .setup import QUAY_REDIRECT, ROOT

VERIFIER = "sample-code-verifier-of-at-least-43-characters-0123456789"  # events/*/code.json's


def event(door="apigw-http-v2", scenario="success"):
    with open(os.path.join(ROOT, "events", door, scenario + ".json")) as f:
        return json.load(f)


def with_auth(e, user, password):
    e = json.loads(json.dumps(e))
    e["headers"]["authorization"] = (
        "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    )
    return e


def with_body(e, form, path=None):
    """An HTTP API v2 event with another form body (and path)."""
    e = json.loads(json.dumps(e))
    e["body"] = base64.b64encode(form.encode()).decode()
    e["headers"].pop("authorization", None)  # the user's; a client sets its own
    if path:
        e["rawPath"] = path
        e["requestContext"]["http"]["path"] = path
    return e


def exchange_event(code):
    form = (
        f"grant_type=authorization_code&client_id=some_client_id&code={code}"
        f"&code_verifier={VERIFIER}&redirect_uri={QUAY_REDIRECT}"
    )
    return with_body(event(), form, "/oauth/access_token")
