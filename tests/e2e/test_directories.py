"""Users from a directory, through the real function on a local Runtime API: LDAP against
the slapd `make test` starts (scripts/ldap.sh, tests/ldap/seed.ldif), Cognito against
moto's user pools. Each backend meets the same cases: the Quay example gives a token;
a wrong password, an unknown user and an empty password are one 401; a user removed from
the directory gets no new token; a group makes superusers and opens an application; the
back-off stands in front of the directory; a directory that is down or silent is a 503.
Every case says whether a token was written: the table is printed for the note."""

import json
import os
import socket
import subprocess
import threading
import uuid

import boto3
import pytest

from conftest import QUAY_REDIRECT, basic, require, tokens_of, v2_event
from test_concurrency import TABLES, own_env, run

FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read"
SUPER = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=super:user"
SUFFIX = "dc=example,dc=org"
ROWS = []


class Ldap:
    """The seeded slapd: alice (quay-admins), bob (ci, developers), carol (developers)."""

    name = "ldap"
    people = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}

    def env(self, e):
        url = require("LDAP_URL")
        param = "/direct-oauth/test/ldap-bind-" + uuid.uuid4().hex[:8]
        boto3.client("ssm").put_parameter(Name=param, Value="service-secret", Type="SecureString")
        return {
            "DIRECT_OAUTH_DIRECTORY": "ldap",
            "DIRECT_OAUTH_LDAP_URL": url,
            "DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT": "true",  # the loopback slapd
            "DIRECT_OAUTH_LDAP_BIND_DN": f"cn=direct-oauth,ou=services,{SUFFIX}",
            "DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER": param,
            "DIRECT_OAUTH_LDAP_USER_BASE": f"ou=people,{SUFFIX}",
            "DIRECT_OAUTH_LDAP_USER_FILTER": "(objectClass=inetOrgPerson)",
            "DIRECT_OAUTH_LDAP_GROUP_BASE": f"ou=groups,{SUFFIX}",
        }

    def _admin(self, tool, stdin=None, *args):
        subprocess.run(
            [
                tool,
                "-x",
                "-H",
                os.environ["LDAP_URL"],
                "-D",
                f"cn=admin,{SUFFIX}",
                "-w",
                "admin-secret",
                *args,
            ],
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
        )

    def add(self, name, password):
        ldif = (
            f"dn: uid={name},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\n"
            f"uid: {name}\ncn: {name}\nsn: {name}\nuserPassword: {password}\n"
        )
        self._admin("ldapadd", ldif)

    def remove(self, name):
        self._admin("ldapdelete", None, f"uid={name},ou=people,{SUFFIX}")

    def down(self):
        return {"DIRECT_OAUTH_LDAP_URL": "ldap://127.0.0.1:9"}

    def silent(self, port):
        return {
            "DIRECT_OAUTH_LDAP_URL": f"ldap://127.0.0.1:{port}",
            "DIRECT_OAUTH_LDAP_TIMEOUT_MS": "500",
        }


class Cognito:
    """A fresh user pool with the same people and groups."""

    name = "cognito"
    people = {"alice": "Alice-password-1", "bob": "Bob-password-1", "carol": "Carol-password-1"}
    groups = {"alice": ["quay-admins"], "bob": ["ci", "developers"], "carol": ["developers"]}

    def env(self, e):
        require("AWS_ENDPOINT_URL")
        self.idp = boto3.client("cognito-idp")
        self.pool = self.idp.create_user_pool(PoolName="p-" + uuid.uuid4().hex[:8])["UserPool"][
            "Id"
        ]
        client = self.idp.create_user_pool_client(
            UserPoolId=self.pool,
            ClientName="direct-oauth",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        )
        for group in {g for gs in self.groups.values() for g in gs}:
            self.idp.create_group(UserPoolId=self.pool, GroupName=group)
        for name, password in self.people.items():
            self.add(name, password)
            for group in self.groups[name]:
                self.idp.admin_add_user_to_group(
                    UserPoolId=self.pool, Username=name, GroupName=group
                )
        return {
            "DIRECT_OAUTH_DIRECTORY": "cognito",
            "DIRECT_OAUTH_COGNITO_USER_POOL_ID": self.pool,
            "DIRECT_OAUTH_COGNITO_CLIENT_ID": client["UserPoolClient"]["ClientId"],
        }

    def add(self, name, password):
        self.idp.admin_create_user(UserPoolId=self.pool, Username=name)
        self.idp.admin_set_user_password(
            UserPoolId=self.pool, Username=name, Password=password, Permanent=True
        )

    def remove(self, name):
        self.idp.admin_delete_user(UserPoolId=self.pool, Username=name)

    def down(self):
        return {"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": "http://127.0.0.1:9"}

    def silent(self, port):
        return {"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": f"http://127.0.0.1:{port}"}


@pytest.fixture(params=[Ldap, Cognito], ids=lambda b: b.name)
def backend(request):
    e = own_env("dir")
    b = request.param()
    e.update(b.env(e))
    e["DIRECT_OAUTH_SUPERUSER_GROUP"] = "quay-admins"
    # Its AWS calls are told apart from the default deployment's (tests/support/iam_eval.py).
    e["AWS_SDK_UA_APP_ID"] = "authorize-app-" + b.name
    b.stack_env = e
    b.tables = {role: e[var] for var, role in TABLES.items()}
    return b


def row(b, case, status, headers, body, name, before):
    written = len(tokens_of(boto3.client("dynamodb"), b.tables, name)) > before
    location = headers.get("location", "")
    if status != 302:
        error = json.loads(body or "{}").get("error", "")
    elif "error=" in location:
        error = "to the redirect URI: " + location.split("error=", 1)[1].split("&", 1)[0]
    else:
        error = "a token in the fragment"
    ROWS.append((b.name, case, status, error, "yes" if written else "no"))
    print(f"\n{b.name} | {case} | {status} {error} | token written: {'yes' if written else 'no'}")
    return written


def login(f, b, case, name, password, form=FORM):
    before = len(tokens_of(boto3.client("dynamodb"), b.tables, name))
    status, headers, body = f.invoke(v2_event(form, basic(name, password)))
    return status, headers, body, row(b, case, status, headers, body, name, before)


def test_a_directorys_users_get_tokens_as_the_contract_says(backend, start_function):
    b = backend
    f = start_function(**b.stack_env)
    alice, bob = ("alice", b.people["alice"]), ("bob", b.people["bob"])
    status, headers, _, written = login(f, b, "the Quay example", *alice)
    assert status == 302 and "#access_token=" in headers["location"] and written
    record = boto3.client("dynamodb").get_item(
        TableName=b.tables["users"], Key={"username": {"S": "alice"}}, ConsistentRead=True
    )
    assert record["Item"]["enabled"] == {"BOOL": True}, "a local record at the first login"
    # Each case on a name of its own: a failure holds its name back for a while.
    for case, name, password in [
        ("wrong password", "carol", "wrong"),
        ("unknown user", "nobody-" + uuid.uuid4().hex[:6], alice[1]),
        ("empty password", "ci-bot", ""),
    ]:
        status, _, body, written = login(f, b, case, name, password)
        assert (status, written) == (401, False), (case, body)
        assert '"access_denied"' in body
    status, headers, _, written = login(f, b, "superuser group asks super:user", *alice, form=SUPER)
    assert status == 302 and "#access_token=" in headers["location"] and written
    scopes = [t["scopes"] for t in tokens_of(boto3.client("dynamodb"), b.tables, "alice")]
    assert any("super:user" in json.dumps(s) for s in scopes), scopes
    status, headers, _, written = login(f, b, "no group asks super:user", *bob, form=SUPER)
    assert status == 302 and "error=access_denied" in headers["location"] and not written
    run(b.stack_env, "app", "update", "some_client_id", "--allow-group", "ci")
    f.stop()
    f = start_function(**b.stack_env)  # a cold start reads the application afresh
    status, headers, _, written = login(f, b, "application open to group ci: alice", *alice)
    assert "error=access_denied" in headers["location"] and not written
    status, headers, _, written = login(f, b, "application open to group ci: bob", *bob)
    assert status == 302 and written


def test_a_removed_user_gets_no_new_token_and_the_back_off_comes_first(backend, start_function):
    b = backend
    name, password = "gone-" + uuid.uuid4().hex[:6], "Gone-password-1"
    b.add(name, password)
    f = start_function(**b.stack_env)
    status, _, _, written = login(f, b, "before removal", name, password)
    assert status == 302 and written
    b.remove(name)
    status, _, _, written = login(f, b, "removed from the directory", name, password)
    assert (status, written) == (401, False)
    status, headers, _, written = login(f, b, "again at once (back-off)", name, password)
    assert (status, written) == (429, False) and "retry-after" in headers


def silent_server():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(
        target=lambda: [held.append(listener.accept()) for _ in iter(int, 1)], daemon=True
    ).start()
    return listener.getsockname()[1]


def test_a_directory_down_or_silent_is_503_and_no_token(backend, start_function):
    b = backend
    for case, overrides in [
        ("directory down", b.down()),
        ("directory silent", b.silent(silent_server())),
    ]:
        env = dict(b.stack_env, **overrides)
        f = start_function(**env)
        status, headers, body, written = login(f, b, case, "alice", b.people["alice"])
        assert (status, written) == (503, False), (case, body)
        assert '"temporarily_unavailable"' in body and headers.get("retry-after")
        f.stop()


def test_ldaps_and_starttls_with_the_operators_ca(start_function):
    """The throw-away CA of the test slapd, given as an operator gives a private CA
    (DIRECT_OAUTH_LDAP_CA_PEM): LDAPS and StartTLS give tokens; without the CA, 503."""
    b = Ldap()
    e = own_env("tls")
    e.update(b.env(e))
    e["AWS_SDK_UA_APP_ID"] = "authorize-app-ldap"
    b.tables = {role: e[var] for var, role in TABLES.items()}
    with open(require("LDAP_CA_FILE")) as f:
        ca = f.read()
    for case, overrides, expected in [
        (
            "ldaps:// with the CA",
            {"DIRECT_OAUTH_LDAP_URL": require("LDAPS_URL"), "DIRECT_OAUTH_LDAP_CA_PEM": ca},
            302,
        ),
        (
            "StartTLS with the CA",
            {"DIRECT_OAUTH_LDAP_STARTTLS": "true", "DIRECT_OAUTH_LDAP_CA_PEM": ca},
            302,
        ),
        ("ldaps:// without it", {"DIRECT_OAUTH_LDAP_URL": require("LDAPS_URL")}, 503),
    ]:
        f = start_function(**dict(e, **overrides))
        status, _, body, written = login(f, b, case, "alice", b.people["alice"])
        assert (status, written) == (expected, expected == 302), (case, body)
        f.stop()
