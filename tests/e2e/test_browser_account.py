"""The person's own pages in a real browser (issue 34): the Tokens page (a token created,
shown once, accepted by the authorizer, its use recorded, revoked, then refused) and the
Authorized applications page (an application's access ended), each checked by axe-core and
saved as a screenshot; and every page again with the function's users in an LDAP
directory (the seeded slapd), served through a front door of the tests' own."""

import os
import uuid
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import require
from test_authorizer import invoke, v2_authorizer_event
from test_browser import accessible, browser, client_site, register, sign_in, start, user
from test_code_flow import discover
from test_concurrency import TABLES, own_env, run
from test_directories import Ldap

__all__ = ["browser", "client_site"]  # fixtures, used by name


def wait_for(driver, text):
    WebDriverWait(driver, 30).until(lambda d: text in d.page_source)


def create_token(driver, name, client_id, scope="repo:read", life="7"):
    """Fills the Tokens page's form; the token the page then shows once."""
    driver.find_element(By.ID, "token-name").send_keys(name)
    Select(driver.find_element(By.ID, "token-application")).select_by_value(client_id)
    driver.find_element(By.NAME, f"scope.{scope}").click()
    Select(driver.find_element(By.ID, "token-life")).select_by_value(life)
    driver.find_element(By.XPATH, "//button[text()='Create token']").click()
    wait_for(driver, "Your new token")
    return driver.find_element(By.ID, "created-token").get_attribute("value")


def token_item(tables, token_id):
    item = boto3.client("dynamodb").get_item(
        TableName=tables["tokens"], Key={"token_id": {"S": token_id}}, ConsistentRead=True
    )
    return item.get("Item")


def test_a_token_made_on_the_page_works_until_revoked(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    client_id, _, _ = register(client_site)
    name, password = user()
    browser.delete_all_cookies()
    browser.get(issuer + "/oauth/tokens")
    assert browser.title == "Sign in"
    accessible(browser, "sign-in-account")
    sign_in(browser, name, password, lands_on="API tokens")
    accessible(browser, "tokens")
    token = create_token(browser, "deploys", client_id)
    assert token.startswith("doa_")
    accessible(browser, "tokens-created")
    tables = {role: os.environ[var] for var, role in TABLES.items()}
    token_id = token[4:26]
    stored = token_item(tables, token_id)
    assert stored["name"]["S"] == "deploys" and stored["client_id"]["S"] == client_id
    assert "last_used_at" not in stored

    answer, err = invoke(v2_authorizer_event(token), "api-token-allowed")
    assert answer and answer["isAuthorized"] is True, (answer, err)
    assert "last_used_at" in token_item(tables, token_id), "the use, written once"
    browser.get(issuer + "/oauth/tokens")
    assert token not in browser.page_source, "shown once"
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke deploys']").click()
    wait_for(browser, "revoked")
    assert "revoked_at" in token_item(tables, token_id)
    answer, _ = invoke(v2_authorizer_event(token), "api-token-revoked")
    assert answer == {"isAuthorized": False}, answer


def test_ending_an_application_s_access_on_the_page(browser, client_site):
    issuer = require("DIRECT_OAUTH_ISSUER")
    meta = discover(issuer)
    client_id, secret, redirect = register(client_site)
    name, password = user()
    session, verifier, _ = start(browser, meta, client_id, secret, redirect, "repo:read")
    sign_in(browser, name, password)
    browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=browser.current_url, code_verifier=verifier
    )["access_token"]
    browser.get(issuer + "/oauth/applications")
    assert "Browser Test App" in browser.page_source and "1 live token" in browser.page_source
    accessible(browser, "applications")
    label = "Revoke access of Browser Test App"
    browser.find_element(By.CSS_SELECTOR, f"button[aria-label='{label}']").click()
    wait_for(browser, "Access revoked: 1 token(s) ended.")
    answer, _ = invoke(v2_authorizer_event(token), "access-revoked")
    assert answer == {"isAuthorized": False}, answer


@pytest.fixture
def ldap_pages(start_function):
    """The function with the seeded slapd as its directory, on tables of its own, behind
    a front door the browser can reach."""
    from front_door import FrontDoor

    door = FrontDoor()
    e = own_env("pages")
    e.update(Ldap().env(e))
    e["DIRECT_OAUTH_ISSUER"] = door.url
    e["AWS_SDK_UA_APP_ID"] = "authorize-app-ldap"
    client_id = "ldap_" + uuid.uuid4().hex[:8]
    return door, e, client_id


def test_every_page_with_an_ldap_directory(browser, client_site, ldap_pages, start_function):
    door, e, client_id = ldap_pages
    redirect = client_site + "/cb"
    run(e, "app", "add", client_id, "--name", "LDAP App", "--redirect-uri", redirect)
    door.serve(start_function(**e))
    try:
        browser.delete_all_cookies()
        browser.get(door.url + "/oauth/tokens")
        accessible(browser, "ldap-sign-in")
        sign_in(browser, "bob", "bob-password", lands_on="API tokens")
        token = create_token(browser, "ldap deploys", client_id)
        assert token.startswith("doa_")
        accessible(browser, "ldap-tokens-created")
        query = (
            f"client_id={client_id}&redirect_uri={redirect}&response_type=code&scope=repo:read"
            "&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            "&code_challenge_method=S256"
        )
        browser.get(door.url + "/oauth/authorize?" + query)
        assert browser.title.startswith("Allow LDAP App")
        accessible(browser, "ldap-consent")
        browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
        WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect))
        assert dict(parse_qsl(urlsplit(browser.current_url).query))["state"] == "s1"
        browser.get(door.url + "/oauth/applications")
        assert "LDAP App" in browser.page_source
        accessible(browser, "ldap-applications")
    finally:
        door.close()
