"""Tools that sign in without the password (issue 35), against the local stack, in a real
browser: the device authorization grant (RFC 8628) driven by Authlib from the issuer's
metadata alone, the person approving in Chromium (each page checked by axe-core and saved as
a screenshot); polls at once across the function's instances (one in time, the others told
to slow down); and the example tool, examples/doa_login.py, signing in with the device flow
and with a loopback redirect, refreshing, and told what to do when its sign-in was revoked."""

import concurrent.futures
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, admin, http_request, require
from test_browser import accessible, browser, sign_in, user
from test_code_flow import discover

__all__ = ["browser"]  # a fixture, used by name

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOOL = os.path.join(ROOT, "examples", "doa_login.py")
OUTPUT = os.path.join(ROOT, ".local", "screenshots")


def register(*extra):
    """A public application registered for the device grant and refresh tokens, with the
    loopback redirect URI a native tool uses (any port)."""
    client_id = "tool_" + uuid.uuid4().hex[:8]
    admin(
        "app", "add", client_id, "--name", "Deploy CLI",
        "--redirect-uri", "http://127.0.0.1/callback",
        "--device-grant", "--refresh-tokens", *extra,
    )  # fmt: skip
    return client_id


def ask(meta, client_id, scope="repo:read"):
    body = f"client_id={client_id}&scope={scope}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "deploy-cli/2.1",
    }
    reply = http_request(meta["device_authorization_endpoint"], body=body, headers=headers)
    assert reply.status == 200, reply.body
    return json.loads(reply.body)


def wait_for(driver, text):
    WebDriverWait(driver, 30).until(lambda d: text in d.page_source)


def approve(driver, complete, name, password, allow=True, shots=None):
    """The person's side: the link, the sign-in, the code, the request, the decision."""
    driver.delete_all_cookies()
    driver.get(complete)
    assert driver.title == "Sign in", driver.title
    if shots:
        accessible(driver, f"{shots}-sign-in")
    sign_in(driver, name, password, lands_on="Connect a device")
    if shots:
        accessible(driver, f"{shots}-entry")
    driver.find_element(By.XPATH, "//button[text()='Continue']").click()
    wait_for(driver, "on your device?")
    if shots:
        accessible(driver, f"{shots}-request")
    choice = "Allow" if allow else "Deny"
    driver.find_element(By.XPATH, f"//button[text()='{choice}']").click()
    wait_for(driver, "Device connected" if allow else "Denied")
    if shots:
        accessible(driver, f"{shots}-{'approved' if allow else 'denied'}")


def test_a_standard_client_signs_in_with_the_device_flow_and_refreshes(browser):
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    assert DEVICE_GRANT in meta["grant_types_supported"]
    client_id = register()
    name, password = user()
    codes = ask(meta, client_id)
    session = OAuth2Session(client_id, scope="repo:read")

    def poll():
        return session.fetch_token(
            meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=codes["device_code"]
        )

    time.sleep(codes["interval"])
    with pytest.raises(OAuthError) as pending:
        poll()
    assert pending.value.error == "authorization_pending"
    approve(browser, codes["verification_uri_complete"], name, password, shots="device")
    page = browser.page_source
    time.sleep(codes["interval"])
    token = poll()
    assert token["token_type"] == "Bearer" and token["access_token"].startswith("doa_")
    assert token["refresh_token"].startswith("dor_") and token["expires_in"] == 3600
    assert "Device connected" in page
    # The refresh rotates: a new refresh token each time, the old one spent.
    first = token["refresh_token"]
    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=first)
    assert refreshed["refresh_token"] not in (None, first)
    with pytest.raises(OAuthError) as reused:
        session.refresh_token(meta["token_endpoint"], refresh_token=first)
    assert reused.value.error == "invalid_grant"
    # The reuse revoked the family: the rotated token is refused too.
    with pytest.raises(OAuthError):
        session.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])


def test_a_denial_reaches_the_tool(browser):
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id = register()
    name, password = user()
    codes = ask(meta, client_id)
    approve(browser, codes["verification_uri_complete"], name, password, allow=False)
    time.sleep(codes["interval"])
    session = OAuth2Session(client_id)
    with pytest.raises(OAuthError) as denied:
        session.fetch_token(
            meta["token_endpoint"], grant_type=DEVICE_GRANT, device_code=codes["device_code"]
        )
    assert denied.value.error == "access_denied"


def test_polls_at_once_on_many_instances_are_one_in_time():
    """Twelve polls at once: one is in time (pending), the others slow down; the interval
    the server stored grew by five seconds for each of them."""
    meta = discover(require("DIRECT_OAUTH_ISSUER"))
    client_id = register()
    codes = ask(meta, client_id)
    time.sleep(codes["interval"])
    body = f"grant_type={DEVICE_GRANT}&client_id={client_id}&device_code={codes['device_code']}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def one(_):
        reply = http_request(meta["token_endpoint"], body=body, headers=headers)
        return json.loads(reply.body)["error"]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(12)))
    assert sorted(set(answers)) == ["authorization_pending", "slow_down"], answers
    assert answers.count("authorization_pending") == 1, answers
    print(f"\n12 polls at once: {answers.count('slow_down')} slow_down, 1 in time")


def run_tool(store, *args, **kw):
    env = {**os.environ, "DOA_ISSUER": require("DIRECT_OAUTH_ISSUER")}
    command = [sys.executable, TOOL, *args, "--store", store]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, **kw)


def started_tool(store, *args):
    env = {**os.environ, "DOA_ISSUER": require("DIRECT_OAUTH_ISSUER")}
    command = [sys.executable, TOOL, *args, "--store", store]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)


def line_with(proc, marker):
    """Reads the tool's stderr up to the line that names `marker`; the lines read."""
    lines = []
    while True:
        line = proc.stderr.readline()
        assert line, f"the tool ended before printing {marker}: {lines}"
        lines.append(line)
        if marker in line:
            return lines


def expire(store):
    """Makes the stored access token look expired, so the tool's next `token` refreshes."""
    with open(store) as f:
        creds = json.load(f)
    creds["expires_at"] = 0
    with open(store, "w") as f:
        json.dump(creds, f)


def test_the_example_tool_signs_in_refreshes_and_learns_its_sign_in_ended(browser):
    client_id = register()
    name, password = user()
    store = os.path.join(tempfile.mkdtemp(prefix="doa-login-"), "creds.json")
    login = ["login", "--client-id", client_id, "--scope", "repo:read", "--device"]
    proc = started_tool(store, *login)
    said = line_with(proc, "user_code=")
    complete = said[-1].split("open ", 1)[1].split(",", 1)[0]
    approve(browser, complete, name, password)
    said.append(proc.stderr.read())
    assert proc.wait(timeout=60) == 0, said
    transcript = "".join(said)
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    token = run_tool(store, "token", "--client-id", client_id)
    assert token.returncode == 0 and token.stdout.startswith("doa_"), token.stderr
    with open(store) as f:
        before = json.load(f)["refresh_token"]
    expire(store)
    refreshed = run_tool(store, "token", "--client-id", client_id)
    assert refreshed.returncode == 0, refreshed.stderr
    with open(store) as f:
        assert json.load(f)["refresh_token"] != before, "rotated and stored"
    admin("token", "revoke", "--user", name, "--yes")
    expire(store)
    ended = run_tool(store, "token", "--client-id", client_id)
    assert ended.returncode == 1 and ended.stdout == ""
    assert "run: " in ended.stderr and "login" in ended.stderr, ended.stderr
    assert not os.path.exists(store), "the spent credentials are forgotten"
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "doa_login-device.txt"), "w") as f:
        f.write(transcript + "\n$ doa_login.py token  # after token revoke --user\n")
        f.write(ended.stderr)
    for secret in (token.stdout.strip(), before):
        assert secret not in transcript + ended.stderr


def test_the_example_tool_signs_in_with_a_loopback_redirect(browser):
    client_id = register()
    name, password = user()
    store = os.path.join(tempfile.mkdtemp(prefix="doa-login-"), "creds.json")
    login = ["login", "--client-id", client_id, "--scope", "repo:read", "--loopback"]
    proc = started_tool(store, *login, "--no-browser")
    url = line_with(proc, "http://")[-1].strip()
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url, url
    browser.delete_all_cookies()
    browser.get(url)
    sign_in(browser, name, password)
    browser.find_element(By.XPATH, "//button[text()='Allow']").click()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    token = run_tool(store, "token", "--client-id", client_id)
    assert token.stdout.startswith("doa_"), token.stderr
