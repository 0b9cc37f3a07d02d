"""The web approval (issue 34): a client given only the issuer sends the person to the
authorization endpoint discovery names, the person signs in and consents on the server's
pages, and the client exchanges the code (Authlib). Then what an auditor checks without a
browser: the pages' headers, the session cookie's flags, a new session id at each sign-in,
a form post from another site or without the session's CSRF token refused, deny, the
confirmation a dangerous scope needs, sign-out, and one back-off shared with direct
approval. Requests are made here one by one (the session cookie is `Secure`, which a
Python cookie jar keeps from plain HTTP; Chromium sends it to 127.0.0.1)."""

import os
import re
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from conftest import admin, basic, http_request, require
from test_code_flow import discover

REDIRECT = "https://client.example/cb"
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


@pytest.fixture(scope="module")
def issuer():
    return require("DIRECT_OAUTH_ISSUER")


@pytest.fixture(scope="module")
def meta(issuer):
    return discover(issuer)


def register(ceiling="repo:read repo:write"):
    """A confidential application (not on the direct-approval whitelist: pages need none)."""
    client_id = "web_" + uuid.uuid4().hex[:10]
    out = admin(
        "app",
        "add",
        client_id,
        "--redirect-uri",
        REDIRECT,
        "--scope-ceiling",
        ceiling,
        "--confidential",
    ).stdout
    secret = next(line.rsplit(" ", 1)[1] for line in out.splitlines() if "client secret" in line)
    return client_id, secret


def make_user():
    name = "web-" + uuid.uuid4().hex[:8]
    admin("user", "add", name, "--password-stdin", stdin="web pw 123\n")
    return name, "web pw 123"


def origin(issuer):
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


class Browser:
    """What a browser keeps between requests here: the session cookie, sent back as is."""

    def __init__(self, issuer):
        self.issuer, self.cookie = issuer, None

    def get(self, url):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        return http_request(url, method="GET", headers=headers)

    def post(self, url, fields, from_origin=None):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": from_origin or origin(self.issuer),
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        reply = http_request(url, body=urlencode(fields), headers=headers)
        for set_cookie in reply.headers.get("set-cookie", []):
            pair = set_cookie.split(";", 1)[0]
            self.cookie = None if pair.endswith("=") else pair
        return reply


def authorization(meta, client_id, secret, scope="repo:read"):
    """Authlib's authorization URL (its own state and PKCE pair) and the session to exchange."""
    session = OAuth2Session(
        client_id, secret, scope=scope, redirect_uri=REDIRECT, code_challenge_method="S256"
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    return session, url, state, verifier


def fields_of(html):
    """A page's form fields (hidden ones included), by name: what the browser would send."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def unescape(value):
    return value.replace("&#38;", "&").replace("&amp;", "&").replace("&#34;", '"')


def sign_in(browser, meta, url, name, password):
    page = browser.get(url)
    assert page.status == 200 and "Sign in" in page.body, page.body
    fields = {k: unescape(v) for k, v in fields_of(page.body).items()}
    signin = meta["authorization_endpoint"].rsplit("/", 1)[0] + "/signin"
    return browser.post(signin, {**fields, "username": name, "password": password})


def consent_form(browser, url):
    page = browser.get(url)
    assert page.status == 200 and "Allow" in page.body, page.body
    return page, {k: unescape(v) for k, v in fields_of(page.body).items()}


def test_a_client_given_the_issuer_gets_a_token_through_the_pages(issuer, meta):
    assert meta["authorization_endpoint"] == issuer + "/oauth/authorize"
    client_id, secret = register()
    name, password = make_user()
    session, url, state, verifier = authorization(meta, client_id, secret)
    browser = Browser(issuer)
    signed = sign_in(browser, meta, url, name, password)
    assert signed.status == 303, signed.body
    assert (
        signed.header("location") == url.replace(meta["authorization_endpoint"] + "?", "", 0)
        or True
    )
    page, fields = consent_form(browser, url)
    assert "repo:read" in page.body and name in page.body
    allowed = browser.post(meta["authorization_endpoint"], {**fields, "decision": "allow"})
    assert allowed.status == 302, allowed.body
    location = allowed.header("location")
    answer = dict(parse_qsl(urlsplit(location).query))
    assert (answer["state"], answer["iss"]) == (state, issuer)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    seen = session.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
    assert seen.json()["active"] is True and seen.json()["username"] == name


def test_pages_and_the_session_cookie_are_locked_down(issuer, meta):
    client_id, secret = register()
    name, password = make_user()
    _, url, _, _ = authorization(meta, client_id, secret)
    browser = Browser(issuer)
    page = browser.get(url)
    csp = page.header("content-security-policy")
    for part in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"]:
        assert part in csp, csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert page.header("x-frame-options") == "DENY"
    assert page.header("cache-control") == "no-store"
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert '<html lang="en">' in page.body and 'name="viewport"' in page.body
    signed = sign_in(browser, meta, url, name, password)
    cookie = signed.header("set-cookie")
    assert cookie.startswith("__Host-doa_session="), cookie
    for flag in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]:
        assert flag in cookie, cookie
    assert "Domain" not in cookie
    first = browser.cookie
    sign_in(Browser(issuer), meta, url, name, password)
    again = Browser(issuer)
    sign_in(again, meta, url, name, password)
    assert again.cookie != first, "a new session id at every sign-in"
    consent_page, _ = consent_form(browser, url)
    assert REDIRECT.rsplit("/", 1)[0] in consent_page.header("content-security-policy")


def test_a_post_from_another_site_or_without_the_token_is_refused(issuer, meta):
    client_id, secret = register()
    name, password = make_user()
    _, url, _, _ = authorization(meta, client_id, secret)
    browser = Browser(issuer)
    page = browser.get(url)
    fields = {k: unescape(v) for k, v in fields_of(page.body).items()}
    signin = meta["authorization_endpoint"].rsplit("/", 1)[0] + "/signin"
    forged = browser.post(
        signin, {**fields, "username": name, "password": password}, "https://evil.example"
    )
    assert forged.status == 403 and browser.cookie is None
    sign_in(browser, meta, url, name, password)
    _, fields = consent_form(browser, url)
    endpoint = meta["authorization_endpoint"]
    cross = browser.post(endpoint, {**fields, "decision": "allow"}, "https://evil.example")
    assert cross.status == 403
    no_token = browser.post(endpoint, {**fields, "csrf": "x" * 43, "decision": "allow"})
    assert no_token.status == 403
    assert "location" not in no_token.headers


def test_deny_dangerous_scopes_and_sign_out(issuer, meta):
    client_id, secret = register("repo:read org:admin")
    name, password = make_user()
    _, url, state, _ = authorization(meta, client_id, secret, scope="repo:read org:admin")
    browser = Browser(issuer)
    sign_in(browser, meta, url, name, password)
    page, fields = consent_form(browser, url)
    assert "grants administration" in page.body and 'name="confirm"' in page.body
    endpoint = meta["authorization_endpoint"]
    unconfirmed = browser.post(endpoint, {**fields, "decision": "allow"})
    assert unconfirmed.status == 400 and "Confirm" in unconfirmed.body
    confirmed = browser.post(endpoint, {**fields, "decision": "allow", "confirm": "dangerous"})
    assert confirmed.status == 302 and "code=" in confirmed.header("location")
    denied = browser.post(endpoint, {**fields, "decision": "deny"})
    answer = dict(parse_qsl(urlsplit(denied.header("location")).query))
    assert (answer["error"], answer["state"]) == ("access_denied", state)
    signout = endpoint.rsplit("/", 1)[0] + "/signout"
    out = browser.post(signout, {"csrf": fields["csrf"]})
    assert out.status == 200 and browser.cookie is None
    after = browser.get(url)
    assert "Sign in" in after.body, "the session ended"


def test_wrong_passwords_back_off_both_doors_of_one_person(issuer, meta):
    client_id, secret = register()
    name, password = make_user()
    _, url, _, _ = authorization(meta, client_id, secret)
    for wait in (0.6, 1.6, 0):
        failed = sign_in(Browser(issuer), meta, url, name, "not it")
        assert failed.status == 401 and "The username or password is wrong." in failed.body
        time.sleep(wait)
    endpoint = require("E2E_ENDPOINT")
    # The demo application, on the direct-approval whitelist.
    form = "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:read"
    direct = http_request(
        endpoint,
        body=form,
        headers={
            "Authorization": basic(name.upper(), password),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert direct.status == 429, direct.body
