"""The pages in a real browser (issue 34): Debian's Chromium, headless, driven by Selenium.
Sign-in, consent and the redirect back to the client (a local HTTP server here, so the
redirect after the consent form's post is seen to arrive, which CSP's form-action would
stop if it named only the server), the session cookie as the browser holds it, the
dangerous-scope confirmation, the sign-in page refused inside a frame, and axe-core's
accessibility check on every page, with no serious or critical violation. Each page's
screenshot is saved under .local/screenshots/."""

import http.server
import json
import os
import shutil
import tempfile
import threading
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, admin, basic, http_request, require
from test_code_flow import discover

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = os.path.join(ROOT, ".local", "screenshots")


class Client(http.server.BaseHTTPRequestHandler):
    """The client's redirect URI: remembers what arrived, answers a small page."""

    arrived: list = []

    def do_GET(self):
        Client.arrived.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        target = self.path.split("target=", 1)[1] if "target=" in self.path else ""
        if self.path.startswith("/frame"):
            body = f'<iframe id="f" src="{target}"></iframe>'
        elif self.path.startswith("/forged"):
            # Another site's page that posts the sign-in form with the person's browser.
            body = (
                f'<form method="post" action="{target}"><input type="hidden" name="next" '
                'value="tokens"><input type="hidden" name="username" value="x">'
                '<input type="hidden" name="password" value="y">'
                '<button id="go" type="submit">go</button></form>'
            )
        else:
            body = "<p>client</p>"
        self.wfile.write(f"<!DOCTYPE html><title>client</title>{body}".encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def client_site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Client)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        missing = f"{CHROMIUM} or {CHROMEDRIVER} is missing: make test installs them"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    profile = tempfile.mkdtemp(prefix="direct-oauth-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=390,844",
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def accessible(driver, name):
    """axe-core's check of the page, and its screenshot: no serious or critical violation."""
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    # Each page's result beside its screenshot, for the record (.local/screenshots/axe.jsonl).
    summary = {
        "page": name,
        "passes": len(results["passes"]),
        "violations": [(v["id"], v["impact"]) for v in results["violations"]],
    }
    with open(os.path.join(SHOTS, "axe.jsonl"), "a") as f:
        f.write(json.dumps(summary) + "\n")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], axe.report(bad)
    return results


def register(client_site, ceiling="repo:read repo:write"):
    client_id = "browser_" + uuid.uuid4().hex[:8]
    redirect = client_site + "/cb"
    out = admin(
        "app",
        "add",
        client_id,
        "--name",
        "Browser Test App",
        "--redirect-uri",
        redirect,
        "--scope-ceiling",
        ceiling,
        "--confidential",
    ).stdout
    secret = next(line.rsplit(" ", 1)[1] for line in out.splitlines() if "client secret" in line)
    return client_id, secret, redirect


def user():
    name = "browser-" + uuid.uuid4().hex[:8]
    admin("user", "add", name, "--password-stdin", stdin="browser pw 1\n")
    return name, "browser pw 1"


def start(driver, meta, client_id, secret, redirect, scope):
    session = OAuth2Session(
        client_id, secret, scope=scope, redirect_uri=redirect, code_challenge_method="S256"
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    driver.delete_all_cookies()
    driver.get(url)
    return session, verifier, state


def sign_in(driver, name, password, lands_on="Allow"):
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: lands_on in d.title or "wrong" in d.page_source)


def test_sign_in_consent_and_the_redirect_reach_the_client(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    client_id, secret, redirect = register(client_site)
    name, password = user()
    session, verifier, state = start(browser, meta, client_id, secret, redirect, "repo:read")
    assert browser.title == "Sign in"
    accessible(browser, "sign-in")
    sign_in(browser, name, password)
    cookie = browser.get_cookie("__Host-doa_session")
    assert cookie and cookie["secure"] and cookie["httpOnly"], cookie
    assert (cookie["sameSite"], cookie["path"]) == ("Lax", "/"), cookie
    assert browser.title.startswith("Allow Browser Test App")
    accessible(browser, "consent")
    browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    answer = dict(parse_qsl(urlsplit(browser.current_url).query))
    assert (answer["state"], answer["iss"]) == (state, issuer)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=browser.current_url, code_verifier=verifier
    )
    assert token["access_token"].startswith("doa_")


def test_a_dangerous_scope_needs_its_box_ticked(browser, client_site):
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id, secret, redirect = register(client_site, "repo:read org:admin")
    name, password = user()
    start(browser, meta, client_id, secret, redirect, "repo:read org:admin")
    sign_in(browser, name, password)
    assert "grants administration" in browser.page_source
    accessible(browser, "consent-dangerous")
    browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    WebDriverWait(browser, 30).until(lambda d: "Confirm that" in d.page_source)
    browser.find_element(By.NAME, "confirm").click()
    browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    assert "code=" in browser.current_url


def test_a_wrong_password_page_is_accessible_and_says_one_thing(browser, client_site):
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id, secret, redirect = register(client_site)
    name, _ = user()
    start(browser, meta, client_id, secret, redirect, "repo:read")
    sign_in(browser, name, "not the password")
    assert "The username or password is wrong." in browser.page_source
    assert browser.get_cookie("__Host-doa_session") is None
    accessible(browser, "sign-in-failed")


def test_a_session_gets_a_new_id_at_sign_in_and_ends_at_sign_out(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    client_id, secret, redirect = register(client_site)
    name, password = user()
    start(browser, meta, client_id, secret, redirect, "repo:read")
    planted = {"name": "__Host-doa_session", "value": "planted", "path": "/", "secure": True}
    browser.add_cookie(planted)
    sign_in(browser, name, password)
    held = browser.get_cookie("__Host-doa_session")["value"]
    assert held != "planted", "a sign-in never keeps the browser's id"
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    WebDriverWait(browser, 30).until(lambda d: d.title == "Signed out")
    assert browser.get_cookie("__Host-doa_session") is None
    browser.add_cookie(dict(planted, value=held))
    browser.get(issuer + "/oauth/tokens")
    assert browser.title == "Sign in", "the old id names no session any more"


def test_deny_sends_access_denied_to_the_client(browser, client_site):
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id, secret, redirect = register(client_site)
    name, password = user()
    _, _, state = start(browser, meta, client_id, secret, redirect, "repo:read")
    sign_in(browser, name, password)
    browser.find_element(By.CSS_SELECTOR, "button[value=deny]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    answer = dict(parse_qsl(urlsplit(browser.current_url).query))
    assert (answer["error"], answer["state"]) == ("access_denied", state)


def test_consent_is_skipped_once_given_and_asked_again_for_more(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    client_id, secret, redirect = register(client_site)
    name, password = user()
    start(browser, meta, client_id, secret, redirect, "repo:read")
    sign_in(browser, name, password)
    browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    again = OAuth2Session(
        client_id, secret, scope="repo:read", redirect_uri=redirect, code_challenge_method="S256"
    )
    url, _ = again.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(64)
    )
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    assert "code=" in browser.current_url, "no page: consent given before"
    more = OAuth2Session(
        client_id,
        secret,
        scope="repo:read repo:write",
        redirect_uri=redirect,
        code_challenge_method="S256",
    )
    url, _ = more.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(64)
    )
    browser.get(url)
    assert browser.title.startswith("Allow Browser Test App"), "asked again for more"
    assert "repo:write" in browser.page_source


def test_a_form_posted_from_another_site_is_refused(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    browser.delete_all_cookies()
    browser.get(f"{client_site}/forged?target={issuer}/oauth/signin")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(issuer))
    assert "only be sent from this site's own pages" in browser.page_source
    assert browser.get_cookie("__Host-doa_session") is None
    accessible(browser, "refused-cross-site")


def test_the_back_off_is_one_for_both_doors(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    name, password = user()
    form = (
        "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created"
        "&scope=repo:read"
    )
    wrong = http_request(
        require("E2E_ENDPOINT"),
        body=form,
        headers={
            "Authorization": basic(name, "not it"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert wrong.status == 401
    browser.delete_all_cookies()
    browser.get(issuer + "/oauth/tokens")
    browser.find_element(By.ID, "username").send_keys(name.upper())
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: "Too many attempts" in d.page_source)
    assert browser.get_cookie("__Host-doa_session") is None


def test_the_sign_in_page_is_refused_inside_a_frame(browser, client_site):
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id, secret, redirect = register(client_site)
    session = OAuth2Session(client_id, secret, scope="repo:read", redirect_uri=redirect)
    url, _ = session.create_authorization_url(meta["authorization_endpoint"])
    browser.get(f"{client_site}/frame?target={url}")
    frame = browser.find_element(By.ID, "f")
    browser.switch_to.frame(frame)
    try:
        assert browser.find_elements(By.ID, "username") == [], "the page rendered in a frame"
    finally:
        browser.switch_to.default_content()
