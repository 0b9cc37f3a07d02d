"""The flows of the two functions, each invoked on a local Runtime API and each on data
of its own (its own users, applications, tokens): what authorize-app and token-authorizer
must be able to do with their roles' actions."""

import base64
import hashlib
import json
import os
import time
from urllib.parse import quote

import bcrypt
from joserfc import jwk, jws

from conftest import ROOT, basic, v2_event
from gen_events import SAMPLE_DPOP_JKT, SAMPLE_DPOP_KEY
from iam.demo import CLIENT, DEVICE_CLIENT, PASSWORD, REDIRECT, REFRESHING
from iam.runs import expect, unique
from tokens import family_of, id_of, secret_of

FORM = f"client_id={CLIENT}&redirect_uri={REDIRECT}&scope=repo:read"


def invoke(fn, event):
    """(kind, answer) of one invocation; kind is "response" or "error"."""
    kind, answer, _ = fn.api.invoke(event)
    return kind, answer


def authorize(run, user, password):
    kind, answer = invoke(run.fn, v2_event(FORM, basic(user, password)))
    expect(kind == "response", f"invocation {kind}")
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    return answer["statusCode"], headers


def issued(run, user, password=PASSWORD):
    status, headers = authorize(run, user, password)
    expect(status == 302 and "#access_token=" in headers.get("location", ""), str(status))
    return headers["location"].split("access_token=", 1)[1].split("&", 1)[0]


def flow_login(run):
    user = unique("login")
    run.admin.put_user(user)
    token = issued(run, user)
    stored = run.admin.token(id_of(token))
    expect(
        stored
        and stored["secret_sha256"]["B"] == hashlib.sha256(secret_of(token).encode()).digest(),
        "the token handed out is not stored",
    )


def flow_login_twice(run):
    """A second login right after a first: the first gave its name up (the failed-logins
    item deleted), so the second is not held back."""
    user = unique("twice")
    run.admin.put_user(user)
    issued(run, user)
    status, _ = authorize(run, user, PASSWORD)
    expect(status == 302, f"second login {status}")


def flow_wrong_password(run):
    user = unique("wrong")
    run.admin.put_user(user)
    status, _ = authorize(run, user, "not the password")
    expect(status == 401, str(status))
    record = run.admin.failed_logins(user)
    expect(record and record.get("failures", {}).get("N") == "1", "no failure counted")


def flow_bcrypt_login(run):
    """A user imported from Quay: the bcrypt hash verifies and is replaced by argon2id in
    the token's transaction (an Update of the user instead of a ConditionCheck)."""
    user = unique("bcrypt")
    run.admin.put_user(user, bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode())
    issued(run, user)
    expect(run.admin.user(user)["password_hash"]["S"].startswith("$argon2"), "not rehashed")


def flow_lost_answer(run):
    """The token write is stored but its answer lost: the SDK's retry meets the stored
    token, which the function reads to hand it out (one record, no orphan)."""
    user = unique("lost")
    run.admin.put_user(user)
    run.gateway.lose("TransactWriteItems")
    try:
        token = issued(run, user)
    finally:
        run.gateway.heal()
    stored = [i["token_id"]["S"] for i in run.admin.tokens_of(user)]
    expect(stored == [id_of(token)], f"{len(stored)} tokens stored")


def revoke_event(token):
    event = v2_event("token=" + quote(token, safe="") + "&token_type_hint=access_token", None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/oauth/revoke"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /oauth/revoke"
    return event


def flow_revoke(run):
    token = run.admin.mint_token(unique("revoke"))
    kind, answer = invoke(run.fn, revoke_event(token))
    expect(
        kind == "response" and answer["statusCode"] == 200,
        str(answer.get("statusCode") if kind == "response" else kind),
    )
    expect("revoked_at" in run.admin.token(id_of(token)), "not revoked")


VERIFIER = "iam-pkce-verifier-" + "v" * 40
CONFIDENTIAL, SECRET = "iam_confidential", "iam-client-secret"


def at_path(event, path):
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST " + path
    return event


def code_of(run, user, client=CLIENT):
    """A code for `user` (the code's PutItem), with the PKCE challenge of VERIFIER."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    form = (
        f"client_id={client}&redirect_uri={REDIRECT}&scope=repo:read"
        + "&response_type=code&code_challenge_method=S256&code_challenge="
        + challenge.rstrip(b"=").decode()
    )
    kind, answer = invoke(run.fn, v2_event(form, basic(user, PASSWORD)))
    expect(
        kind == "response" and answer["statusCode"] == 302,
        str(answer.get("statusCode") if kind == "response" else kind),
    )
    location = {k.lower(): v for k, v in answer["headers"].items()}["location"]
    return location.split("?code=", 1)[1].split("&", 1)[0]


def exchange(run, code, client=CLIENT):
    form = (
        f"grant_type=authorization_code&client_id={client}&code={code}"
        f"&code_verifier={VERIFIER}&redirect_uri={quote(REDIRECT, safe='')}"
    )
    kind, answer = invoke(run.fn, at_path(v2_event(form, None), "/oauth/access_token"))
    expect(kind == "response", f"invocation {kind}")
    return answer


def flow_code_exchange(run):
    """Quay's code flow: the code written, then exchanged (the application read, the
    code's conditional UpdateItem, the token's transaction)."""
    user = unique("code")
    run.admin.put_user(user)
    answer = exchange(run, code_of(run, user))
    expect(answer["statusCode"] == 200, f"exchange {answer['statusCode']}")


def flow_code_replay(run):
    """A code used twice: invalid_grant (a GetItem tells the replay), and the token of the
    first exchange revoked (an UpdateItem on the tokens table)."""
    user = unique("replay")
    run.admin.put_user(user)
    code = code_of(run, user)
    first = exchange(run, code)
    expect(first["statusCode"] == 200, f"first exchange {first['statusCode']}")
    again = exchange(run, code)
    expect(again["statusCode"] == 400, f"replay {again['statusCode']}")
    token_id = id_of(json.loads(first["body"])["access_token"])
    expect("revoked_at" in (run.admin.token(token_id) or {}), "first token not revoked")


def refresh(run, refresh_token):
    form = (
        f"grant_type=refresh_token&client_id={REFRESHING}"
        f"&refresh_token={quote(refresh_token, safe='')}"
    )
    kind, answer = invoke(run.fn, at_path(v2_event(form, None), "/oauth/access_token"))
    expect(kind == "response", f"invocation {kind}")
    return answer


def flow_refresh(run):
    """Refresh tokens: a code's exchange starts a family (its conditional Put and its entry
    in the access token's transaction); a refresh reads the family (GetItem) and rotates it
    (the same transaction, conditional on the token read); the retired token presented
    again revokes the family (its UpdateItem, which returns it) and the access tokens it
    issued (the tokens table's UpdateItem)."""
    user = unique("refresh")
    run.admin.put_user(user)
    started = exchange(run, code_of(run, user, REFRESHING), REFRESHING)
    expect(started["statusCode"] == 200, f"exchange {started['statusCode']}")
    first = json.loads(started["body"])
    expect("refresh_token" in first, "no refresh token")
    rotated = refresh(run, first["refresh_token"])
    expect(rotated["statusCode"] == 200, f"refresh {rotated['statusCode']}")
    second = json.loads(rotated["body"])
    expect(second.get("refresh_token") not in (None, first["refresh_token"]), "not rotated")
    reused = refresh(run, first["refresh_token"])
    expect(reused["statusCode"] == 400, f"reuse {reused['statusCode']}")
    expect(json.loads(reused["body"]).get("error") == "invalid_grant", reused["body"])
    family = run.admin.family(family_of(first["refresh_token"])) or {}
    expect("revoked_at" in family, "the family is not revoked")
    for answer in (first, second):
        token_id = id_of(answer["access_token"])
        expect("revoked_at" in (run.admin.token(token_id) or {}), "an access token lives on")


def flow_introspect(run):
    """A confidential application asks about a token: one BatchGetItem."""
    run.admin.put_app(CONFIDENTIAL, secret=SECRET)
    # Its own token: another application's would be answered inactive (RFC 7662 §4).
    token = run.admin.mint_token(unique("intro"), client_id=CONFIDENTIAL)
    event = at_path(v2_event(f"token={token}", basic(CONFIDENTIAL, SECRET)), "/oauth/introspect")
    kind, answer = invoke(run.fn, event)
    expect(
        kind == "response" and answer["statusCode"] == 200,
        str(answer.get("statusCode") if kind == "response" else kind),
    )
    expect(json.loads(answer["body"]).get("active") is True, "not active")


def authorizer_event(token):
    path = os.path.join(ROOT, "events", "token-authorizer", "http-api-v2", "valid.json")
    with open(path) as f:
        event = json.load(f)
    event["headers"]["authorization"] = "Bearer " + token
    event["identitySource"] = ["Bearer " + token]
    return event


def flow_authorizer_valid(run):
    kind, answer = invoke(run.fn, authorizer_event(run.admin.mint_token(unique("valid"))))
    expect(kind == "response", f"invocation {kind}")
    expect(answer.get("isAuthorized") is True, "denied")


def flow_authorizer_dpop(run):
    """A bound token with a proof by its key: the proof's jti is spent (a PutItem)."""
    token = run.admin.mint_token(unique("dpop"), jkt=SAMPLE_DPOP_JKT)
    key = jwk.ECKey.import_key(SAMPLE_DPOP_KEY)
    ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).decode().rstrip("=")
    claims = {
        "jti": unique("jti"),
        "htm": "GET",
        "iat": int(time.time()),
        "ath": ath,
        "htu": "https://abcdef123.execute-api.us-east-1.amazonaws.com/whoami",
    }
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    event = authorizer_event(token)
    event["headers"]["authorization"] = "DPoP " + token
    event["headers"]["dpop"] = jws.serialize_compact(header, json.dumps(claims), key)
    kind, answer = invoke(run.fn, event)
    expect(kind == "response", f"invocation {kind}")
    expect(answer.get("isAuthorized") is True, "denied")


def flow_authorizer_api_token_use(run):
    """An API token (a named one) allowed: its last use written, one conditional UpdateItem
    of `last_used_at` alone (a failed write still allows, so only the record tells)."""
    token = run.admin.mint_token(unique("api"), name="ci")
    kind, answer = invoke(run.fn, authorizer_event(token))
    expect(kind == "response", f"invocation {kind}")
    expect(answer.get("isAuthorized") is True, "denied")
    expect("last_used_at" in (run.admin.token(id_of(token)) or {}), "last use not written")


def flow_authorizer_revoked(run):
    token = run.admin.mint_token(unique("revoked"), revoked=True)
    kind, answer = invoke(run.fn, authorizer_event(token))
    expect(kind == "response", f"invocation {kind}")
    expect(answer == {"isAuthorized": False}, str(answer))


ISSUER = "https://id.execute-api.us-east-1.amazonaws.com"


def page_event(path, *, method="GET", query="", form=None, cookie=None):
    """An HTTP API event for the web approval's pages: from the sample's host (the issuer),
    its form posts with that `Origin`, and the session cookie in the event's `cookies`."""
    event = v2_event(form, None, method)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {path}"
    event["rawQueryString"] = query
    if form is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
        event["headers"].pop("content-type", None)
    else:
        event["headers"]["origin"] = ISSUER
    if cookie:
        event["cookies"] = [cookie]
    return event


def page(run, event):
    kind, answer = invoke(run.fn, event)
    expect(kind == "response", f"invocation {kind}")
    return answer


def signed_in(run, form):
    """The session cookie (`name=value`) a sign-in with `form` sets."""
    signed = page(run, page_event("/oauth/signin", method="POST", form=form))
    cookies = signed.get("cookies") or []
    expect(signed["statusCode"] == 303 and cookies, f"sign-in {signed['statusCode']}")
    return cookies[0].split(";", 1)[0]


def flow_web_approval(run):
    """Sign-in, consent and sign-out through the pages: the session's PutItem at sign-in,
    its GetItem on the consent page, the consent read (the authorization item's GetItem) and
    remembered (its UpdateItem), the code's PutItem, and the session's DeleteItem at sign-out."""
    user = unique("web")
    run.admin.put_user(user)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    query = (
        f"client_id={CLIENT}&redirect_uri={quote(REDIRECT, safe='')}&response_type=code"
        f"&scope=repo%3Aread&code_challenge={challenge.rstrip(b'=').decode()}"
        "&code_challenge_method=S256&state=web"
    )
    shown = page(run, page_event("/oauth/authorize", query=query))
    expect(shown["statusCode"] == 200 and "Sign in" in shown["body"], "no sign-in page")
    signin = f"{query}&username={user}&password={quote(PASSWORD)}"
    cookie = signed_in(run, signin)
    consent = page(run, page_event("/oauth/authorize", query=query, cookie=cookie))
    expect(consent["statusCode"] == 200, f"consent page {consent['statusCode']}")
    csrf = consent["body"].split('name="csrf" value="', 1)[1].split('"', 1)[0]
    decided = f"{query}&csrf={csrf}&decision=allow"
    allowed = page(run, page_event("/oauth/authorize", method="POST", form=decided, cookie=cookie))
    location = {k.lower(): v for k, v in allowed["headers"].items()}.get("location", "")
    expect(
        allowed["statusCode"] == 302 and "?code=" in location, f"consent {allowed['statusCode']}"
    )
    out = page(run, page_event("/oauth/signout", method="POST", form=f"csrf={csrf}", cookie=cookie))
    expect(out["statusCode"] == 200, f"sign-out {out['statusCode']}")


def hidden(body, name):
    """The value of the page's hidden input `name` (its first)."""
    return body.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


def account_post(run, path, form, cookie):
    answer = page(run, page_event(path, method="POST", form=form, cookie=cookie))
    expect(answer["statusCode"] == 200, f"POST {path} {answer['statusCode']}")
    return answer["body"]


def flow_account_pages(run):
    """The person's own pages: sign-in back to the Tokens page (the session's PutItem), the
    page (the person's items in one Query of the user-tokens table, the applications'
    Scan), an API token created (the authorization item read, then one transaction with its
    UpdateItem) and revoked (the token's UpdateItem), the Applications page, and the
    application's access ended (the authorization item's DeleteItem)."""
    user = unique("pages")
    run.admin.put_user(user)
    shown = page(run, page_event("/oauth/tokens"))
    expect(shown["statusCode"] == 200 and "Sign in" in shown["body"], "no sign-in page")
    signin = f"username={user}&password={quote(PASSWORD)}&next=tokens"
    cookie = signed_in(run, signin)
    tokens = page(run, page_event("/oauth/tokens", cookie=cookie))
    expect(tokens["statusCode"] == 200, f"tokens page {tokens['statusCode']}")
    csrf = hidden(tokens["body"], "csrf")
    order = f"csrf={csrf}&name=ci&client_id={CLIENT}&scope.repo%3Aread=on&life=default"
    body = account_post(run, "/oauth/tokens", order, cookie)
    expect('id="created-token"' in body, "no token shown")
    token = body.split('id="created-token" readonly value="', 1)[1].split('"', 1)[0]
    stored = run.admin.token(id_of(token)) or {}
    expect(stored.get("name", {}).get("S") == "ci", "the API token is not stored")
    expect(run.admin.authorized(user, CLIENT), "no authorization item counts the API token")
    account_post(run, "/oauth/tokens/revoke", f"csrf={csrf}&token_id={id_of(token)}", cookie)
    expect("revoked_at" in (run.admin.token(id_of(token)) or {}), "not revoked")
    apps = page(run, page_event("/oauth/applications", cookie=cookie))
    expect(apps["statusCode"] == 200, f"applications page {apps['statusCode']}")
    account_post(run, "/oauth/applications/revoke", f"csrf={csrf}&client_id={CLIENT}", cookie)
    expect(not run.admin.authorized(user, CLIENT), "the authorization item is still there")


def device_poll(run, device_code):
    form = (
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
        f"&client_id={DEVICE_CLIENT}&device_code={device_code}"
    )
    return page(run, at_path(v2_event(form, None), "/oauth/token"))


def flow_device(run):
    """The device authorization grant: the codes written (one transaction of two PutItems
    on the codes table), a poll (the authorization's GetItem, the conditional UpdateItem of
    the next poll), the verification page (a wrong code counted: the misses' UpdateItem, then
    PutItem; the user code's and the authorization's GetItems; the decision's UpdateItem),
    and the poll that redeems it (its UpdateItem) and writes the token."""
    user = unique("device")
    run.admin.put_user(user)
    form = f"client_id={DEVICE_CLIENT}&scope=repo:read"
    asked = page(run, at_path(v2_event(form, None), "/oauth/device_authorization"))
    expect(asked["statusCode"] == 200, f"device authorization {asked['statusCode']}")
    codes = json.loads(asked["body"])
    time.sleep(codes["interval"])
    pending = device_poll(run, codes["device_code"])
    expect(json.loads(pending["body"]).get("error") == "authorization_pending", pending["body"])
    signin = f"username={user}&password={quote(PASSWORD)}&next=device"
    cookie = signed_in(run, signin)
    entry = page(run, page_event("/oauth/device", cookie=cookie))
    csrf = hidden(entry["body"], "csrf")
    guess = f"csrf={csrf}&user_code=BBBBBBBB"
    wrong = page(run, page_event("/oauth/device", method="POST", form=guess, cookie=cookie))
    expect(wrong["statusCode"] == 400, f"wrong code {wrong['statusCode']}")
    code = codes["user_code"]
    body = account_post(run, "/oauth/device", f"csrf={csrf}&user_code={code}", cookie)
    expect("on your device?" in body, "no request page")
    allow = f"csrf={csrf}&user_code={code}&decision=allow"
    expect("Device connected" in account_post(run, "/oauth/device", allow, cookie), "not allowed")
    time.sleep(codes["interval"])
    issued = device_poll(run, codes["device_code"])
    expect(issued["statusCode"] == 200, f"device poll {issued['statusCode']}: {issued['body']}")


AUTHORIZE_APP_FLOWS = [
    ("login", flow_login),
    ("login twice", flow_login_twice),
    ("wrong password", flow_wrong_password),
    ("bcrypt login (rehash)", flow_bcrypt_login),
    ("lost token-write answer", flow_lost_answer),
    ("POST /oauth/revoke", flow_revoke),
    ("code + exchange", flow_code_exchange),
    ("code replayed", flow_code_replay),
    ("refresh: start, rotate, reuse revokes", flow_refresh),
    ("POST /oauth/introspect", flow_introspect),
    ("sign-in, consent, sign-out", flow_web_approval),
    ("API tokens and authorized applications pages", flow_account_pages),
    ("device authorization: codes, polls, the verification page", flow_device),
]

TOKEN_AUTHORIZER_FLOWS = [
    ("valid token allowed", flow_authorizer_valid),
    ("revoked token denied", flow_authorizer_revoked),
    ("DPoP-bound token with a proof allowed", flow_authorizer_dpop),
    ("API token allowed, its last use written", flow_authorizer_api_token_use),
]
