"""Every log line of a full run, at the most verbose level: no password, token, token
secret or Authorization header value; and one audit line per issued token."""

import base64
import json

from conftest import QUAY_REDIRECT, basic, v2_event

PASSWORD = "passwordhere"
QUAY_AUTH = "Basic " + base64.b64encode(b"username:" + PASSWORD.encode()).decode()
FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read+org:admin"


def test_logs_hold_no_secrets_and_audit_every_token(start_function, reset_failures):
    reset_failures("username")
    reset_failures("nobody-here")
    f = start_function(DIRECT_OAUTH_LOG_LEVEL="trace")
    tokens = []
    status, headers, _ = f.invoke(v2_event(FORM, QUAY_AUTH))
    assert status == 302
    tokens.append(headers["location"].split("access_token=")[1].split("&")[0])
    secrets = ["wrong-Pa55word!", "unknown-Pa55word!", "malformed-Pa55word!"]
    for event in [
        v2_event(FORM, basic("username", secrets[0])),
        v2_event(FORM, basic("nobody-here", secrets[1])),
        v2_event(FORM, "Basic " + base64.b64encode(("x" + secrets[2]).encode()).decode()),
        v2_event(FORM.replace("some_client_id", "unlisted"), QUAY_AUTH),
        v2_event(FORM + "&scope=repo:read", QUAY_AUTH),
        v2_event(None, QUAY_AUTH, method="GET"),
    ]:
        f.invoke(event)
    reset_failures("username")
    status, headers, _ = f.invoke(v2_event(FORM + "&state=st", QUAY_AUTH))
    assert status == 302
    tokens.append(headers["location"].split("access_token=")[1].split("&")[0])

    logs = f.stop()
    assert logs.count("\n") > 5, logs
    forbidden = [PASSWORD, QUAY_AUTH, QUAY_AUTH.split()[1], *secrets]
    for token in tokens:
        forbidden += [token, token[22:]]
    for secret in secrets:
        forbidden.append(base64.b64encode(secret.encode()).decode()[:16])
    for line in logs.splitlines():
        for value in forbidden:
            assert value not in line, f"{value!r} leaked in: {line}"

    audit = [json.loads(l) for l in logs.splitlines()
             if l.startswith("{") and '"token_issued"' in l]
    assert len(audit) == 2
    for line, token in zip(audit, tokens):
        assert line["username"] == "username"
        assert line["client_id"] == "some_client_id"
        assert line["scopes"] == "repo:read org:admin"
        assert line["token_id"] == token[:22]
