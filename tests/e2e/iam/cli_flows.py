"""The admin CLI's flows, each on data of its own: what an operator holding OperatorPolicy
must be able to do with each command."""

import hashlib
import subprocess

import bcrypt

from iam.demo import CLIENT, PASSWORD, REDIRECT
from iam.runs import expect, unique
from iam.stack import ADMIN_CLI, STACK_NAME
from tokens import id_of


def cli(run, *args, stdin=None, env=None):
    out = subprocess.run(
        [ADMIN_CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or run.env,
        timeout=60,
    )
    expect(out.returncode == 0, f"exit {out.returncode}")
    return out.stdout


def flow_user_add(run):
    user = unique("add")
    cli(run, "user", "add", user, "--password-stdin", stdin=PASSWORD + "\n")
    expect(run.admin.user(user), "not stored")


def flow_user_import(run):
    user = unique("import")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    out = cli(run, "user", "import-quay", stdin=f"{user},{hashed}\n")
    expect(
        "imported 1," in out and run.admin.user(user)["password_hash"]["S"] == hashed,
        "not imported",
    )


def flow_user_disable(run):
    user = unique("disable")
    run.admin.put_user(user)
    cli(run, "user", "disable", user, "--yes")
    expect(run.admin.user(user)["enabled"]["BOOL"] is False, "still enabled")


def flow_user_enable(run):
    user = unique("enable")
    run.admin.put_user(user, enabled=False)
    cli(run, "user", "enable", user)
    expect(run.admin.user(user)["enabled"]["BOOL"] is True, "still disabled")


def flow_set_password(run):
    user = unique("setpw")
    run.admin.put_user(user)
    cli(
        run,
        "user",
        "set-password",
        user,
        "--password-stdin",
        "--keep-tokens",
        stdin="another one\n",
    )
    expect(run.admin.user(user)["password_hash"]["S"] != run.admin.argon2_hash, "unchanged")


def flow_set_password_revoke(run):
    user = unique("setpw-revoke")
    run.admin.put_user(user)
    token = run.admin.mint_token(user)
    cli(
        run,
        "user",
        "set-password",
        user,
        "--password-stdin",
        "--revoke-tokens",
        stdin="another one\n",
    )
    expect("revoked_at" in run.admin.token(token[:22]), "token not revoked")


def flow_bcrypt_remaining(run):
    """On a users table of its own: no bcrypt hash remains, so the marker is deleted."""
    table = run.admin.t["bcrypt_users"]
    run.admin.empty_table(table)
    run.admin.ddb.put_item(
        TableName=table, Item={"username": {"S": ":bcrypt"}, "max_cost": {"N": "4"}}
    )
    run.admin.put_user(unique("argon"), table=table)
    out = cli(run, "user", "bcrypt-remaining", env=dict(run.env, DIRECT_OAUTH_USERS_TABLE=table))
    expect("no bcrypt hashes remain" in out, out.strip())
    marker = run.admin.ddb.get_item(
        TableName=table, Key={"username": {"S": ":bcrypt"}}, ConsistentRead=True
    ).get("Item")
    expect(marker is None, "marker kept")


def flow_app_add(run):
    client = unique("app_add")
    cli(run, "app", "add", client, "--redirect-uri", REDIRECT)
    expect(run.admin.app(client), "not stored")


def flow_app_update(run):
    client = unique("app_update")
    run.admin.put_app(client)
    cli(run, "app", "update", client, "--name", "after")
    expect(run.admin.app(client)["name"]["S"] == "after", "not updated")


def flow_app_remove(run):
    client = unique("app_remove")
    run.admin.put_app(client)
    cli(run, "app", "remove", client, "--yes")
    expect(run.admin.app(client) is None, "not removed")


def flow_app_rotate_secret(run):
    client = unique("rot").replace("-", "_")
    run.admin.put_app(client, secret="old-secret")
    out = cli(run, "app", "rotate-secret", client)
    expect("client secret" in out, "no new secret shown")
    stored = run.admin.app(client)["secret_sha256"]["B"]
    expect(stored != hashlib.sha256(b"old-secret").digest(), "secret not replaced")


def flow_app_list(run):
    client = unique("app_list")
    run.admin.put_app(client)
    expect(client in cli(run, "app", "list"), "not listed")


def flow_whitelist_add(run):
    client = unique("wl_add")
    cli(run, "whitelist", "add", client)
    expect(client in run.admin.whitelist(), "not whitelisted")


def flow_whitelist_remove(run):
    client = unique("wl_remove")
    run.admin.set_whitelist(run.admin.whitelist() | {client})
    cli(run, "whitelist", "remove", client)
    expect(client not in run.admin.whitelist(), "still whitelisted")


def flow_whitelist_list(run):
    expect(CLIENT in cli(run, "whitelist", "list").split(), "not listed")


def flow_stack(run):
    """`--stack NAME` instead of the variables: the names from the stack's outputs
    (DescribeStacks), here to list the whitelist."""
    env = {k: v for k, v in run.env.items() if not k.startswith("DIRECT_OAUTH_")}
    listed = cli(run, "--stack", STACK_NAME, "whitelist", "list", env=env)
    expect(CLIENT in listed.split(), "not listed")


def flow_token_list(run):
    user = unique("tlist")
    token = run.admin.mint_token(user)
    expect(token[:22] in cli(run, "token", "list", "--user", user), "not listed")


def flow_token_revoke(run):
    token = run.admin.mint_token(unique("trevoke"))
    cli(run, "token", "revoke", token[:22])
    expect("revoked_at" in run.admin.token(token[:22]), "not revoked")


def flow_token_revoke_user(run):
    user = unique("trevoke-user")
    run.admin.put_user(user)
    token = run.admin.mint_token(user)
    expect(
        "1 token(s) revoked" in cli(run, "token", "revoke", "--user", user, "--yes"), "none revoked"
    )
    expect("revoked_at" in run.admin.token(token[:22]), "not revoked")


def flow_token_verify(run):
    token = run.admin.mint_token(unique("verify"))
    expect(cli(run, "token", "verify", stdin=token + "\n").startswith("valid:"), "not valid")


def flow_token_create(run):
    """token create, as the Tokens page makes a token: the user (GetItem), the application
    and the user (BatchGetItem), the person's authorization item (GetItem), then one
    transaction (the token's and its entry's PutItem, the user's ConditionCheckItem, the
    authorization item's UpdateItem). The application takes one live token per person: the
    second, made once the first is revoked, reads the counted token's record at the cap
    (BatchGetItem on the tokens table), which no longer counts."""
    user = unique("tcreate")
    client = unique("tcreate").replace("-", "_")
    run.admin.put_user(user)
    run.admin.put_app(client, api_token_cap=1)
    order = ["token", "create", "--user", user, "--client", client, "--scope", "repo:read"]
    first = cli(run, *order, "--name", "first").strip()
    stored = run.admin.token(id_of(first)) or {}
    expect(stored.get("name", {}).get("S") == "first", "not stored")
    run.admin.revoke(id_of(first))
    second = cli(run, *order, "--name", "second").strip()
    held = (run.admin.authorized(user, client) or {}).get("api_tokens", {}).get("M", {})
    expect(set(held) == {id_of(second)}, f"the authorization item holds {sorted(held)}")


CLI_FLOWS = [
    ("user add", flow_user_add),
    ("user import-quay", flow_user_import),
    ("user disable", flow_user_disable),
    ("user enable", flow_user_enable),
    ("user set-password", flow_set_password),
    ("user set-password --revoke-tokens", flow_set_password_revoke),
    ("user bcrypt-remaining", flow_bcrypt_remaining),
    ("app add", flow_app_add),
    ("app update", flow_app_update),
    ("app remove", flow_app_remove),
    ("app list", flow_app_list),
    ("app rotate-secret", flow_app_rotate_secret),
    ("whitelist add", flow_whitelist_add),
    ("whitelist remove", flow_whitelist_remove),
    ("whitelist list", flow_whitelist_list),
    ("--stack NAME whitelist list", flow_stack),
    ("token list", flow_token_list),
    ("token revoke ID", flow_token_revoke),
    ("token revoke --user", flow_token_revoke_user),
    ("token verify", flow_token_verify),
    ("token create (at an application's cap)", flow_token_create),
]
