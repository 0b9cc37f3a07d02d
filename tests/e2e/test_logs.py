"""Every log line of a full run, at the most verbose level: no password, token, token
secret or Authorization header value, in any encoding a log line could carry it in; and
one audit line per issued token.

A secret can reach a log line re-encoded: the header echoed whole (base64 of
`user:password`, so the password sits at any byte offset of what was encoded), decoded
bytes printed with `{:?}`, a form body percent-encoded, any of it JSON-escaped once by the
log formatter and again by a `{:?}` inside it. `leak_patterns` lists each of those for a
secret; `test_the_leak_search_finds_every_encoding` proves the search finds them."""

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from conftest import QUAY_REDIRECT, basic, token_from, v2_event
from tokens import id_of, secret_of

QUAY_PASSWORD = "passwordhere"
QUAY_AUTH = basic("username", QUAY_PASSWORD)
FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read+org:admin"
# Characters that each encoding changes: quote, backslash, slash, plus, percent, space,
# non-ASCII.
TRICKY = 'pä$s "w/o\\rd+%1 !'


# ---- The search ----


def _base64_fragments(data):
    """The base64 text that encoding `data` yields wherever it starts in a longer input:
    for each of the three byte alignments, the characters that depend on `data` alone."""
    out = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start = -(-8 * offset // 6)  # first character with no bit of the padding before
        end = (8 * (offset + len(data))) // 6  # last character with no bit of what follows
        fragment = encoded[start:end]
        out += [
            (f"base64@{offset}", fragment),
            (f"base64url@{offset}", fragment.replace("+", "-").replace("/", "_")),
        ]
    return out


def _escape_ascii(data):
    """Rust's `<[u8]>::escape_ascii` / the `b"..."` of `Bytes`'s Debug."""
    out = []
    for b in data:
        c = chr(b)
        if c in "\"'\\":
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def _json_inner(text, ascii_only):
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


def leak_patterns(secret):
    """(encoding, text) pairs: each way `secret` (str or bytes) could show in a log line."""
    data = secret.encode() if isinstance(secret, str) else secret
    text = data.decode("utf-8", "replace")
    plain = [
        ("raw", text),
        ("percent", quote(data, safe="")),
        ("percent-lower", quote(data, safe="").lower()),
        ("form", quote_plus(data, safe="")),
        ("escape_ascii", _escape_ascii(data)),
        ("bytes-debug", ", ".join(str(b) for b in data)),
        ("hex", data.hex()),
        ("HEX", data.hex().upper()),
    ]
    plain += _base64_fragments(data)
    out = []
    for name, value in plain:
        out.append((name, value))
        # Once by the JSON formatter; twice when a `{:?}` string sits inside the line.
        for ascii_only in (False, True):
            once = _json_inner(value, ascii_only)
            out.append((name + "+json", once))
            out.append((name + "+json+json", _json_inner(once, ascii_only)))
    return sorted(set(out))


def find_leaks(lines, secrets):
    """Every (what, encoding, line) where a secret shows; `secrets` maps a label to the
    secret."""
    patterns = [
        (label, enc, text)
        for label, secret in secrets.items()
        for enc, text in leak_patterns(secret)
    ]
    return [(label, enc, line) for line in lines for label, enc, text in patterns if text in line]


def test_the_leak_search_finds_every_encoding():
    """The search is not vacuous: each way of logging a header carrying a password is
    found, at every offset, and a line without it is clean."""
    password = TRICKY
    header = basic("someone", password)
    decoded = ("x" * 7 + "someone:" + password).encode()
    logged = [
        json.dumps({"authorization": header}),
        json.dumps({"authorization": repr(header)}),
        json.dumps({"message": f"bad header {header!r}"}),
        json.dumps({"decoded": list(decoded).__repr__()}),
        json.dumps({"decoded": _escape_ascii(decoded)}),
        json.dumps({"form": quote_plus("password=" + password)}),
        json.dumps({"hex": decoded.hex()}),
    ]
    # The password inside base64 at each alignment, standard and url-safe alphabets.
    for prefix in ("", "a", "ab", "abc"):
        encoded = base64.b64encode((prefix + password + "tail").encode()).decode()
        logged += [
            json.dumps({"b64": encoded}),
            json.dumps({"b64url": encoded.replace("+", "-").replace("/", "_")}),
        ]
    for line in logged:
        assert find_leaks([line], {"password": password}), line
    assert not find_leaks([json.dumps({"event": "refused", "status": 401})], {"password": password})


# ---- The run ----

MALFORMED = {
    # name -> (Authorization value, the password it carries)
    "no colon": lambda u, p: "Basic " + base64.b64encode(f"{u}{p}".encode()).decode(),
    "invalid utf-8": lambda u, p: (
        "Basic " + base64.b64encode(f"{u}:{p}".encode() + b"\xff\xfe").decode()
    ),
    "control character": lambda u, p: "Basic " + base64.b64encode(f"{u}\x01:{p}".encode()).decode(),
    "not base64": lambda u, p: f"Basic {u}:{p}",
    "trailing garbage": lambda u, p: basic(u, p) + "!!",
    "another scheme": lambda u, p: "Bearer " + base64.b64encode(f"{u}:{p}".encode()).decode(),
    "two credentials": lambda u, p: basic(u, p) + ", " + basic("other", p + "-2"),
    "300-byte user": lambda u, p: basic("u" * 300, p),
    "spaces inside": lambda u, p: "Basic  " + base64.b64encode(f"{u}:{p}".encode()).decode() + " x",
}


def revoke_event(token):
    event = v2_event("token=" + quote(token, safe="") + "&token_type_hint=access_token", None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/oauth/revoke"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /oauth/revoke"
    return event


def test_logs_hold_no_secrets_and_audit_every_token(start_function, reset_failures, make_user):
    reset_failures("username")
    name, _password = make_user(password=TRICKY)
    f = start_function(DIRECT_OAUTH_LOG_LEVEL="trace")
    secrets = {"quay password": QUAY_PASSWORD, "tricky password": TRICKY}
    headers_sent = {"quay": QUAY_AUTH, "tricky": basic(name, TRICKY)}
    tokens = []

    def issue(form, auth, user):
        status, headers, _ = f.invoke(v2_event(form, auth))
        assert status == 302, headers
        tokens.append((token_from(headers["location"]), user))

    issue(FORM, basic(name, TRICKY), name)
    issue(FORM, QUAY_AUTH, "username")

    # Failed logins: wrong password, unknown user, each password its own secret.
    for label, user in [("wrong", name), ("unknown", "nobody-" + name)]:
        secret = f"{label}-{TRICKY}"
        secrets[label + " password"] = secret
        headers_sent[label] = basic(user, secret)
        assert f.invoke(v2_event(FORM, headers_sent[label]))[0] == 401
    # Malformed headers, each carrying a password of its own.
    for i, (label, make) in enumerate(sorted(MALFORMED.items())):
        secret = f"malformed{i}-{TRICKY}"
        secrets[f"password in {label!r}"] = secret
        headers_sent[label] = make(name, secret)
        status, _, body = f.invoke(v2_event(FORM, headers_sent[label]))
        assert status == 401, (label, body)
    # Other refusals with good credentials, and a token sent where it does not belong.
    f.invoke(v2_event(FORM.replace("some_client_id", "unlisted"), QUAY_AUTH))
    f.invoke(v2_event(FORM + "&scope=repo:read", QUAY_AUTH))
    f.invoke(v2_event(None, QUAY_AUTH, method="GET"))
    bearer = "Bearer " + tokens[1][0]
    headers_sent["bearer token"] = bearer
    assert f.invoke(v2_event(FORM, bearer))[0] == 401
    # Revocation carries the token in the body (and a token-shaped value that is not one).
    assert f.invoke(revoke_event(tokens[0][0]))[0] == 200
    assert f.invoke(revoke_event("not-a-token-" + TRICKY))[0] == 200
    secrets["revoked non-token"] = "not-a-token-" + TRICKY
    reset_failures("username")
    issue(FORM + "&state=st", QUAY_AUTH, "username")

    logs = f.stop()
    lines = logs.splitlines()
    assert len(lines) > 10, logs
    for i, (token, _) in enumerate(tokens):
        secrets[f"token {i}"] = token
        secrets[f"token {i} secret"] = secret_of(token)
    for label, value in headers_sent.items():
        secrets[f"Authorization ({label})"] = value
        secrets[f"Authorization ({label}) credentials"] = value.split(" ", 1)[1]
    leaks = find_leaks(lines, secrets)
    # One entry per secret, encoding and log message, with an example line.
    summary = {}
    for what, enc, line in leaks:
        message = json.loads(line).get("message", "") if line.startswith("{") else "(not JSON)"
        summary.setdefault((what, enc, message), line)
    assert not summary, "\n".join(
        f"{what} ({enc}) leaked in a {message!r} line: {line[:300]}"
        for (what, enc, message), line in sorted(summary.items())
    )

    audit = [
        json.loads(text) for text in lines if text.startswith("{") and '"token_issued"' in text
    ]
    assert len(audit) == len(tokens) == 3
    for line, (token, user) in zip(audit, tokens, strict=True):
        assert line["username"] == user
        assert line["client_id"] == "some_client_id"
        assert line["scopes"] == "repo:read org:admin"
        assert line["token_id"] == id_of(token)


@pytest.mark.parametrize("label", sorted(MALFORMED))
def test_each_malformed_header_is_refused_as_malformed(post, label):
    """The malformed headers above are refused for being malformed (not, say, as a wrong
    password), so the run above exercises the paths that parse them."""
    reply = post(FORM, auth=MALFORMED[label]("username", QUAY_PASSWORD))
    assert reply.status == 401, reply.body
    assert reply.json()["error_description"] == "Basic credentials are missing or malformed"
