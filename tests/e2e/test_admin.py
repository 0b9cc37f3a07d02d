"""Every direct-oauth-admin command against moto, and what each changes for the function."""

import json
import time
import uuid

import bcrypt
import pytest

from conftest import QUAY_REDIRECT, admin, basic, resources, uid
from test_authorizer import invoke, v2_authorizer_event
from tokens import id_of, made_of, secret_of

FORM = "client_id=some_client_id&scope=repo:read"
pytestmark = pytest.mark.usefixtures("aws_stack")


def test_every_command_has_help():
    for args in [
        [],
        ["init"],
        ["env"],
        ["user"],
        ["user", "add"],
        ["user", "disable"],
        ["user", "enable"],
        ["user", "set-password"],
        ["user", "import-quay"],
        ["app"],
        ["app", "add"],
        ["app", "update"],
        ["app", "remove"],
        ["app", "list"],
        ["whitelist"],
        ["whitelist", "add"],
        ["whitelist", "remove"],
        ["whitelist", "list"],
        ["token"],
        ["token", "list"],
        ["token", "revoke"],
        ["token", "verify"],
        ["token", "create"],
    ]:
        out = admin(*args, "--help")
        assert out.returncode == 0 and "Usage:" in out.stdout, args


def test_init_is_idempotent():
    out = admin("init")
    assert "exists" in out.stdout and "created" not in out.stdout.replace("created (empty)", "")
    for table in [r["value"] for r in resources() if r["kind"] == "table"]:
        assert f"table {table}: exists\n" in out.stdout, "every table of src/resources.rs"


def test_user_add_refuses_duplicates_and_bad_input():
    name = uid("u-")
    admin("user", "add", name, "--password-stdin", stdin="pw-1\n")
    dup = admin("user", "add", name, "--password-stdin", stdin="pw-1\n", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    assert (
        admin("user", "add", uid("u-"), "--password-stdin", stdin="\n", check=False).returncode == 1
    )
    assert admin("user", "add", "a:b", "--password-stdin", stdin="x\n", check=False).returncode == 1
    no_terminal = admin("user", "add", uid("u-"), stdin="", check=False)
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr, (
        "without a terminal to ask on, the password comes from --password-stdin or not at all"
    )


def test_disable_enable_and_set_password_change_logins(post, make_user, reset_failures):
    name, password = make_user()
    assert post(FORM, auth=basic(name, password)).status == 302
    admin("user", "disable", name, "--yes")
    assert post(FORM, auth=basic(name, password)).status == 401
    reset_failures(name)
    admin("user", "enable", name)
    assert post(FORM, auth=basic(name, password)).status == 302
    admin("user", "set-password", name, "--password-stdin", "--keep-tokens", stdin="new-password\n")
    assert post(FORM, auth=basic(name, password)).status == 401
    reset_failures(name)
    assert post(FORM, auth=basic(name, "new-password")).status == 302
    assert admin("user", "disable", "no-such-" + name, "--yes", check=False).returncode == 1


def test_quay_import_verifies_bcrypt_then_rehashes(post, dynamodb, tables):
    # Hashes made by another tool (Python's bcrypt), as Quay stores them.
    alice, root = uid("quay-"), uid("quay-root-")
    lines = [
        "# exported from Quay",
        f"{alice},{bcrypt.hashpw(b'alice-pw', bcrypt.gensalt(rounds=4)).decode()}",
        f"{root},{bcrypt.hashpw(b'root-pw', bcrypt.gensalt(rounds=4, prefix=b'2a')).decode()},true",
        "broken-line-without-hash",
    ]
    out = admin("user", "import-quay", stdin="\n".join(lines) + "\n", check=False)
    assert out.returncode == 1 and "line 4" in out.stderr, out
    assert "imported 2" in out.stdout
    assert "$2" not in out.stdout + out.stderr, "hashes are never echoed"

    def stored(name):
        return dynamodb.get_item(
            TableName=tables["users"], Key={"username": {"S": name}}, ConsistentRead=True
        )["Item"]

    assert stored(alice)["password_hash"]["S"].startswith("$2b$")
    assert post(FORM, auth=basic(alice, "alice-pw")).status == 302
    assert stored(alice)["password_hash"]["S"].startswith("$argon2id$"), "rehashed at login"
    assert post(FORM, auth=basic(alice, "alice-pw")).status == 302, "and still verifies"
    assert stored(root)["superuser"]["BOOL"] is True
    reply = post("client_id=some_client_id&scope=super:user", auth=basic(root, "root-pw"))
    assert reply.status == 302 and "access_token=" in reply.header("location")

    again = admin("user", "import-quay", stdin=lines[1] + "\n")
    assert "exists, left alone" in again.stdout


def test_quay_import_refuses_costs_above_the_limit(dynamodb, tables):
    """Each bcrypt cost step doubles a login's CPU, and failed logins wait for the slowest
    imported hash: costs above --max-bcrypt-cost (12 unless raised) are refused."""
    name = uid("quay-costly-")
    line = f"{name},{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=13)).decode()}\n"
    out = admin("user", "import-quay", stdin=line, check=False)
    assert out.returncode == 1 and "cost 13 is above --max-bcrypt-cost 12" in out.stderr, out
    assert "Item" not in dynamodb.get_item(TableName=tables["users"], Key={"username": {"S": name}})
    # The limit is the operator's (small costs here: the stack is shared by other tests).
    line = f"{name},{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=5)).decode()}\n"
    assert (
        admin("user", "import-quay", "--max-bcrypt-cost", "4", stdin=line, check=False).returncode
        == 1
    )
    assert "imported 1" in admin("user", "import-quay", "--max-bcrypt-cost", "5", stdin=line).stdout
    marker = dynamodb.get_item(
        TableName=tables["users"], Key={"username": {"S": ":bcrypt"}}, ConsistentRead=True
    )["Item"]
    assert int(marker["max_cost"]["N"]) >= 5, "failed logins now wait for such a hash"
    remaining = admin("user", "bcrypt-remaining").stdout
    assert "still have a bcrypt hash" in remaining, remaining


def test_app_commands(post):
    client = uid("app-")
    for bad in [
        "/relative",
        "https://x.example/cb#frag",
        "http://x.example/cb",
        "javascript:alert(1)",
    ]:
        out = admin("app", "add", client, "--redirect-uri", bad, check=False)
        assert out.returncode == 1 and "redirect URI" in out.stderr, bad
    admin(
        "app",
        "add",
        client,
        "--redirect-uri",
        "https://a.example/cb",
        "--redirect-uri",
        "http://127.0.0.1:8080/cb",
        "--scope-ceiling",
        "repo:read",
        "--name",
        "A",
    )
    assert (
        admin(
            "app", "add", client, "--redirect-uri", "https://a.example/cb", check=False
        ).returncode
        == 1
    )
    listed = admin("app", "list").stdout
    assert f"{client}\tA\thttps://a.example/cb http://127.0.0.1:8080/cb\trepo:read" in listed
    admin("app", "update", client, "--redirect-uri", "https://b.example/cb", "--no-scope-ceiling")
    assert f"{client}\tA\thttps://b.example/cb\t(any)" in admin("app", "list").stdout
    assert (
        admin("app", "update", client, "--scope-ceiling", "bogus:scope", check=False).returncode
        == 1
    )
    # No terminal to ask on: without --yes nothing is removed.
    unasked = admin("app", "remove", client, check=False)
    assert unasked.returncode == 1 and "--yes" in unasked.stderr, unasked.stderr
    assert client in admin("app", "list").stdout
    admin("app", "remove", client, "--yes")
    assert client not in admin("app", "list").stdout
    assert admin("app", "remove", client, "--yes", check=False).returncode == 1


def test_an_application_s_token_lifetime_is_set_announced_and_reset(post):
    client = uid("life-")
    admin("app", "add", client, "--redirect-uri", QUAY_REDIRECT, "--token-lifetime-seconds", "600")

    def lifetime():
        apps = json.loads(admin("app", "list", "--output", "json").stdout)
        return next(a for a in apps if a["client_id"] == client)["token_lifetime_seconds"]

    assert lifetime() == 600
    admin("whitelist", "add", client)
    try:
        name, password = uid("life-user-"), "life password 1"
        admin("user", "add", name, "--password-stdin", stdin=password + "\n")
        form = f"client_id={client}&redirect_uri={QUAY_REDIRECT}&scope=repo:read"
        deadline = time.monotonic() + 30  # the function's whitelist cache
        reply = post(form, auth=basic(name, password))
        while reply.status != 302 and time.monotonic() < deadline:
            time.sleep(0.5)
            reply = post(form, auth=basic(name, password))
        assert reply.status == 302, reply.body
        assert dict(reply.fragment())["expires_in"] == "600"
    finally:
        admin("whitelist", "remove", client)
    too_short = admin("app", "update", client, "--token-lifetime-seconds", "59", check=False)
    assert too_short.returncode == 2, too_short.stderr
    admin("app", "update", client, "--default-token-lifetime")
    assert lifetime() is None


def test_whitelist_commands():
    client = uid("wl-")
    assert "whitelisted" in admin("whitelist", "add", client).stdout
    assert "already" in admin("whitelist", "add", client).stdout
    assert client in admin("whitelist", "list").stdout.split()
    assert "removed" in admin("whitelist", "remove", client).stdout
    assert client not in admin("whitelist", "list").stdout.split()
    assert "some_client_id" in admin("whitelist", "list").stdout.split()


def issue(post, name, password):
    reply = post(FORM, auth=basic(name, password))
    assert reply.status == 302, reply.body
    return dict(reply.fragment())["access_token"]


def test_token_commands(post, make_user):
    name, password = make_user()
    first, second = issue(post, name, password), issue(post, name, password)
    listed = admin("token", "list", "--user", name).stdout
    assert listed.startswith("TOKEN_ID\tCLIENT_ID\tSCOPES\tISSUED\tEXPIRES\tSTATUS")
    assert id_of(first) in listed and id_of(second) in listed
    assert secret_of(first) not in listed and secret_of(second) not in listed, "never secrets"
    assert listed.count("\tvalid") == 2

    out = admin("token", "verify", stdin=first + "\n")
    assert out.stdout.startswith(f'valid: user {name} client some_client_id scopes "repo:read"')
    admin("token", "revoke", id_of(first))
    out = admin("token", "verify", stdin=first, check=False)
    assert out.returncode == 1 and "revoked" in out.stderr
    assert admin("token", "revoke", id_of(first), check=False).returncode == 1
    assert admin("token", "verify", stdin="garbage", check=False).returncode == 1
    assert (
        admin("token", "verify", stdin=made_of(id_of(first), "A" * 43), check=False).returncode == 1
    )

    third = issue(post, name, password)
    out = admin("token", "revoke", "--user", name, "--yes").stdout
    assert "2 token(s) revoked" in out
    for t in (second, third):
        assert "revoked" in admin("token", "verify", stdin=t, check=False).stderr
    assert admin("token", "revoke", check=False).returncode == 2


def test_token_ids_may_start_with_a_dash(dynamodb, tables):
    # Ids are base64url: one in 32 starts with "-", which must not read as an option.
    token_id = "-" + uuid.uuid4().hex[:21]
    dynamodb.put_item(
        TableName=tables["tokens"],
        Item={
            "token_id": {"S": token_id},
            "secret_sha256": {"B": b"\0" * 32},
            "username": {"S": "dash-user"},
            "client_id": {"S": "some_client_id"},
            "scopes": {"L": [{"S": "repo:read"}]},
            "issued_at": {"N": "1"},
            "expires_at": {"N": str(int(time.time()) + 3600)},
        },
    )
    assert "revoked" in admin("token", "revoke", token_id).stdout


def test_disabling_a_user_refuses_its_tokens_until_enabled(post, make_user):
    name, password = make_user()
    token = issue(post, name, password)
    admin("user", "disable", name, "--yes")
    out = admin("token", "verify", stdin=token, check=False)
    assert out.returncode == 1 and "user_disabled" in out.stderr
    admin("user", "enable", name)
    assert admin("token", "verify", stdin=token).returncode == 0


def test_what_ends_access_is_never_done_unasked(post, make_user):
    """Without a terminal to ask on, a reset must say what becomes of the tokens, and
    disabling a user or revoking its tokens needs --yes; refused, each changes nothing."""
    name, password = make_user()
    token = issue(post, name, password)
    reset = admin("user", "set-password", name, "--password-stdin", stdin="other\n", check=False)
    assert reset.returncode == 1, reset.stdout
    assert "--revoke-tokens" in reset.stderr and "--keep-tokens" in reset.stderr, reset.stderr
    both = admin(
        "user",
        "set-password",
        name,
        "--password-stdin",
        "--revoke-tokens",
        "--keep-tokens",
        stdin="other\n",
        check=False,
    )
    assert both.returncode == 2, "one or the other"
    for args in (["user", "disable", name], ["token", "revoke", "--user", name]):
        refused = admin(*args, check=False)
        assert refused.returncode == 1 and "--yes" in refused.stderr, (args, refused.stderr)
    assert post(FORM, auth=basic(name, password)).status == 302, "password unchanged"
    assert admin("token", "verify", stdin=token).returncode == 0, "token untouched"

    admin("user", "set-password", name, "--password-stdin", "--revoke-tokens", stdin="other\n")
    out = admin("token", "verify", stdin=token, check=False)
    assert out.returncode == 1 and "revoked" in out.stderr, out.stderr


def test_an_applications_tokens_end_with_revoke_client_or_its_removal(post, make_user):
    """`token revoke --client` gives the application a new token epoch: its tokens (and
    codes) are refused at the next check, and new logins get good tokens. `app remove`
    says what becomes of the tokens: refused, since a check reads the application, and an
    application added again under the same id does not bring them back."""
    name, password = make_user()
    client = "revoke-" + uuid.uuid4().hex[:8]
    admin("app", "add", client, "--redirect-uri", "https://revoke.example/cb")
    admin("whitelist", "add", client)
    form = f"client_id={client}&scope=repo:read"

    def token():
        deadline = time.monotonic() + 30  # the function's whitelist cache
        while True:
            reply = post(form, auth=basic(name, password))
            if reply.status == 302 or time.monotonic() > deadline:
                assert reply.status == 302, reply.body
                return dict(reply.fragment())["access_token"]
            time.sleep(0.5)

    def verdict(t):
        out = admin("token", "verify", stdin=t, check=False)
        return "valid" if out.returncode == 0 else out.stderr.strip().split(": ")[-1]

    old, other_client = token(), issue(post, name, password)
    assert admin("token", "revoke", "--client", client, check=False).returncode == 1, (
        "no terminal: --yes"
    )
    assert verdict(old) == "valid"
    assert "revoked" in admin("token", "revoke", "--client", client, "--yes").stdout
    assert (verdict(old), verdict(other_client)) == ("revoked", "valid")
    new = token()
    assert verdict(new) == "valid", "a login after the revocation is good"
    removed = admin("app", "remove", client, "--yes").stdout
    assert "refused" in removed, removed
    assert verdict(new) == "client_removed"
    admin("app", "add", client, "--redirect-uri", "https://revoke.example/cb")
    assert verdict(new) == "revoked", "adding it again does not bring them back"
    admin("whitelist", "remove", client)


def test_app_api_token_terms_and_implicit_are_set_checked_and_listed():
    """`app add|update --api-token-…` set the terms API tokens are held to, checked as the
    library checks them (a default within the maximum, at least a day, a cap of at least
    one) before anything is written; `--implicit` registers the implicit response."""
    client = uid("terms-")

    def listed():
        apps = json.loads(admin("app", "list", "--output", "json").stdout)
        (app,) = [a for a in apps if a["client_id"] == client]
        return app["implicit"], app["api_tokens"]

    uri = ["--redirect-uri", "https://terms.example/cb"]
    over = admin("app", "add", client, *uri, "--api-token-days", "100", check=False)
    assert over.returncode == 1 and "API token terms" in over.stderr, over.stderr
    assert "longer than the maximum" in over.stderr, over.stderr
    assert client not in admin("app", "list").stdout, "nothing written"
    admin("app", "add", client, *uri, "--implicit", "--api-token-days", "5")
    admin("app", "update", client, "--api-token-max-days", "10", "--api-token-no-expiry")
    admin("app", "update", client, "--api-token-cap", "3")
    terms = {"default_days": 5, "max_days": 10, "no_expiry": True, "cap": 3}
    assert listed() == (True, terms)
    text = [line for line in admin("app", "list").stdout.splitlines() if line.startswith(client)]
    assert text[0].endswith("\ttrue\t5d (max 10d, or never), cap 3"), text
    for bad in (["--api-token-max-days", "4"], ["--api-token-cap", "0"], ["--api-token-days", "0"]):
        out = admin("app", "update", client, *bad, check=False)
        assert out.returncode == 1 and "API token terms" in out.stderr, (bad, out.stderr)
    assert listed() == (True, terms), "a refused update changes nothing"
    admin("app", "update", client, "--no-implicit", "--api-token-expiry-required")
    assert listed() == (False, {**terms, "no_expiry": False})
    both = admin(
        "app", "update", client, "--api-token-no-expiry", "--api-token-expiry-required", check=False
    )
    assert both.returncode == 2, "one or the other"
    admin("app", "remove", client, "--yes")


def api_token_app(*terms, allow=()):
    """A new application for API tokens, with these `--api-token-…` flags; its client id."""
    client = uid("api-")
    admin(
        "app",
        "add",
        client,
        "--redirect-uri",
        "https://api.example/cb",
        "--scope-ceiling",
        "repo:read repo:write",
        *terms,
        *allow,
    )
    return client


def create(name, client, token_name, *more, check=True):
    return admin(
        "token",
        "create",
        "--user",
        name,
        "--client",
        client,
        "--name",
        token_name,
        "--scope",
        "repo:read",
        *more,
        check=check,
    )


def test_token_create_prints_a_token_the_authorizer_accepts(make_user):
    """The token alone on standard output (so `TOKEN=$(…)` takes it), what was made on
    standard error; the authorizer accepts it and records its use; `token list` shows it
    by name."""
    name, _ = make_user()
    client = api_token_app()
    out = create(name, client, "ci deploy")
    token = out.stdout.strip()
    assert out.stdout == token + "\n" and token.startswith("doa_"), out.stdout
    assert id_of(token) in out.stderr and '"ci deploy"' in out.stderr, out.stderr
    assert "expires 20" in out.stderr, "the application's default life, as a date"
    assert secret_of(token) not in out.stderr

    answer, err = invoke(v2_authorizer_event(token), "cli-api-token")
    assert answer and answer["isAuthorized"] is True, (answer, err)
    assert answer["context"]["username"] == name
    assert answer["context"]["client_id"] == client
    assert answer["context"]["scopes"] == "repo:read"

    text = admin("token", "list", "--user", name).stdout
    assert text.startswith(
        "TOKEN_ID\tCLIENT_ID\tSCOPES\tISSUED\tEXPIRES\tSTATUS\tNAME\tLAST_USED\n"
    )
    (line,) = [row for row in text.splitlines() if row.startswith(id_of(token))]
    assert "\tvalid\tci deploy\t20" in line, line
    (listed,) = json.loads(admin("token", "list", "--user", name, "--output", "json").stdout)
    assert listed["name"] == "ci deploy" and listed["last_used_at"], listed

    shown = json.loads(create(name, client, "second", "--output", "json").stdout)
    assert set(shown) == {"token", "token_id", "expires_at"}
    assert shown["token_id"] == id_of(shown["token"])
    assert admin("token", "verify", stdin=shown["token"]).returncode == 0


def test_token_create_is_held_to_the_application_s_terms(make_user):
    """A life beyond the application's longest, a token that never expires where the
    terms say every one must, a token past the cap: each refused with exit status 1, a
    message naming what to change, and nothing on standard output."""
    name, _ = make_user()
    client = api_token_app(
        "--api-token-days", "7", "--api-token-max-days", "7", "--api-token-cap", "2"
    )

    def refused(*more):
        out = create(name, client, "refused", *more, check=False)
        assert out.returncode == 1 and out.stdout == "", out
        assert "no token was created" in out.stderr, out.stderr
        return out.stderr

    long = refused("--expires-in-days", "8")
    assert "choose 1 to 7 days" in long and "--expires-in-days" in long, long
    never = refused("--no-expiry")
    assert "must expire" in never and "--api-token-no-expiry" in never, never
    admin("app", "update", client, "--api-token-no-expiry")
    kept = create(name, client, "kept", "--no-expiry")
    assert "expires never" in kept.stderr, kept.stderr
    week = create(name, client, "week", "--expires-in-days", "7").stdout.strip()
    capped = refused()
    assert f"user {name} holds the most live API tokens" in capped and "(2)" in capped, capped
    listed = admin("token", "list", "--user", name).stdout
    assert "\tnever\tvalid\tkept\t" in listed, "an expiry of never, by name"
    admin("token", "revoke", id_of(week))
    assert create(name, client, "after a revocation").returncode == 0, "a revoked one frees a place"
    assert admin("token", "list", "--user", name).stdout.count("\tvalid\t") == 2


def test_token_create_names_who_and_what_it_cannot_find(make_user):
    name, _ = make_user()
    client = api_token_app()
    nobody = create("no-such-" + name, client, "x", check=False)
    assert nobody.returncode == 1 and "no user no-such-" in nobody.stderr, nobody.stderr
    spelled = create(name.upper(), client, "x", check=False)
    assert spelled.returncode == 1 and f'"{name}"' in spelled.stderr, "the normal form is named"
    missing = create(name, uid("no-app-"), "x", check=False)
    assert missing.returncode == 1 and "no application no-app-" in missing.stderr, missing.stderr
    grouped = api_token_app(allow=["--allow-group", "admins"])
    groups = create(name, grouped, "x", check=False)
    assert groups.returncode == 1 and "directory groups" in groups.stderr, groups.stderr
    admin("user", "disable", name, "--yes")
    disabled = create(name, client, "x", check=False)
    assert disabled.returncode == 1 and "disabled" in disabled.stderr, disabled.stderr
