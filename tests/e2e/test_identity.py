"""One person, one identity (issue 32), through the real function with each directory:
every spelling of a name that the directory takes for one person reaches the one local
record the first login made, so `user disable` holds under any spelling and no spelling
makes a record or a token of its own; a spray of wrong passwords over spellings is one
back-off, so a directory's own lockout is never reached; `user sync` disables the people
gone or locked in the directory, and their tokens are refused at once.

Each case prints a row for the note (spelling, answer, record reached, token valid)."""

import base64
import json
import os
import subprocess
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from conftest import ROOT, Function, basic, require, tokens_of, v2_event, wait_out_back_off
from test_concurrency import TABLES, own_env, run
from test_directories import FORM, SUFFIX, Ldap, backend  # noqa: F401 (a fixture)

ROWS = []


def record(b, key):
    item = boto3.client("dynamodb").get_item(
        TableName=b.tables["users"], Key={"username": {"S": key}}, ConsistentRead=True
    )
    return item.get("Item")


def valid(b, token):
    """What `token verify` says of the token now (exit 0: valid)."""
    out = subprocess.run(
        [os.path.join(ROOT, "target", "debug", "direct-oauth-admin"), "token", "verify"],
        env=b.stack_env,
        input=token + "\n",
        capture_output=True,
        text=True,
    )
    return out.returncode == 0


def spellings(name):
    return [name.upper(), name.capitalize(), name + " ", " " + name, name[:2] + name[2:].upper()]


def login(f, name, password):
    status, headers, body = f.invoke(v2_event(FORM, basic(name, password)))
    token = None
    location = headers.get("location", "")
    if "#access_token=" in location:
        token = location.split("#access_token=", 1)[1].split("&", 1)[0]
    return status, token, body


def test_every_spelling_meets_the_one_disabled_record(backend, start_function):
    b = backend
    name = "felix" + uuid.uuid4().hex[:6]
    b.add(name, b.people["alice"])
    f = start_function(**b.stack_env)
    status, token, body = login(f, name, b.people["alice"])
    assert status == 302 and token, body
    assert record(b, name)["directory"] == {"S": b.name}, "linked to its directory"
    run(b.stack_env, "user", "disable", name, "--yes")
    tried = spellings(name)
    if b.name == "ldap":
        # A name of the directory in composed Unicode, typed decomposed and in capitals.
        zoe = "zo\u00eb" + uuid.uuid4().hex[:6]
        add_unicode(zoe, b.people["alice"])
        assert login(f, zoe, b.people["alice"])[0] == 302
        run(b.stack_env, "user", "disable", zoe, "--yes")
        tried.append(unicodedata.normalize("NFD", zoe).upper())
    dynamodb = boto3.client("dynamodb")
    for spelling in tried:
        key = unicodedata.normalize("NFC", spelling).strip().lower()
        wait_out_back_off(dynamodb, b.tables, key)
        before = len(tokens_of(dynamodb, b.tables, key))
        status, new_token, body = login(f, spelling, b.people["alice"])
        made = spelling != key and record(b, spelling) is not None
        written = new_token is not None or len(tokens_of(dynamodb, b.tables, key)) > before
        ROWS.append(
            (
                b.name,
                repr(spelling),
                status,
                "its own record" if made else key,
                "yes" if written else "no",
            )
        )
        assert status in (401, 429) and not written, (spelling, status, body)
        assert not made, spelling
    assert record(b, name)["enabled"] == {"BOOL": False}
    assert not valid(b, token), "the first token is refused since the disable"
    failures = dynamodb.scan(TableName=b.tables["failed_logins"], ConsistentRead=True)["Items"]
    keys = {i["username"]["S"] for i in failures}
    assert name in keys and not keys & {s for s in tried if s != name}, keys


def add_unicode(name, password):
    """An entry whose uid is not ASCII (LDIF carries it base64, as RFC 2849 wants)."""

    def b64(v):
        return base64.b64encode(v.encode()).decode()

    dn = f"uid={name},ou=people,{SUFFIX}"
    ldif = (
        f"dn:: {b64(dn)}\nobjectClass: inetOrgPerson\nuid:: {b64(name)}\ncn: zoe\n"
        f"sn: zoe\nuserPassword: {password}\n"
    )
    Ldap()._admin("ldapadd", ldif)


def test_a_spray_over_spellings_never_reaches_the_directory_s_lockout(start_function):
    """A user under the seed's password policy (locked after 5 failed binds): eight wrong
    passwords at once, each under another spelling, on four instances. The directory sees
    at most two failed binds (ppolicy's pwdFailureTime), and the right password still
    gets a token once the back-off is over."""
    b = Ldap()
    e = own_env("spray")
    e.update(b.env(e))
    e["AWS_SDK_UA_APP_ID"] = "authorize-app-ldap"
    b.stack_env = e
    b.tables = {role: e[var] for var, role in TABLES.items()}
    name = "spray" + uuid.uuid4().hex[:6]
    b.add(name, "right-password")
    b._admin(
        "ldapmodify",
        f"dn: uid={name},ou=people,{SUFFIX}\nchangetype: modify\n"
        f"add: pwdPolicySubentry\npwdPolicySubentry: cn=lockout,ou=policies,{SUFFIX}\n",
    )
    instances = [start_function(**e) for _ in range(4)]
    for f in instances:
        assert f.invoke(v2_event(method="GET"))[0] == 405
    names = [*spellings(name), name, name.swapcase(), "\t" + name]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(
            pool.map(
                lambda i: instances[i % 4].invoke(v2_event(FORM, basic(names[i], "wrong")))[0],
                range(len(names)),
            )
        )
    failed_binds = len(failure_times(name))
    ROWS.append(
        (
            "ldap",
            f"spray: {len(names)} spellings at once",
            sorted(answers),
            f"{failed_binds} failed binds seen by slapd",
            "no",
        )
    )
    assert failed_binds <= 2, (answers, failed_binds)
    wait_out_back_off(boto3.client("dynamodb"), b.tables, name)
    status, token, body = login(instances[0], name, "right-password")
    ROWS.append(
        ("ldap", "the right password after the spray", status, name, "yes" if token else "no")
    )
    assert status == 302 and token, body


def failure_times(name):
    out = subprocess.run(
        [
            "ldapsearch",
            "-x",
            "-LLL",
            "-H",
            require("LDAP_URL"),
            "-D",
            f"cn=admin,{SUFFIX}",
            "-w",
            "admin-secret",
            "-b",
            f"uid={name},ou=people,{SUFFIX}",
            "-s",
            "base",
            "(objectClass=*)",
            "pwdFailureTime",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in out.stdout.splitlines() if line.startswith("pwdFailureTime:")]


def test_user_sync_disables_the_gone_and_the_locked(backend, start_function):
    b = backend
    tag = uuid.uuid4().hex[:6]
    stays, leaves, locked = f"stays{tag}", f"leaves{tag}", f"locked{tag}"
    f = start_function(**b.stack_env)
    tokens = {}
    for name in (stays, leaves, locked):
        b.add(name, b.people["alice"])
        status, token, body = login(f, name, b.people["alice"])
        assert status == 302, body
        tokens[name] = token
    b.remove(leaves)
    lock(b, locked)
    out = run(b.stack_env, "user", "sync").stdout
    ROWS.append((b.name, "user sync", out.strip().replace("\n", "; "), "", ""))
    assert f"user {leaves}: disabled (gone" in out, out
    assert f"user {locked}: disabled (locked" in out, out
    assert stays not in out, out
    for name, enabled in [(stays, True), (leaves, False), (locked, False)]:
        assert record(b, name)["enabled"] == {"BOOL": enabled}, name
        assert valid(b, tokens[name]) is enabled, name
    again = run(b.stack_env, "user", "sync").stdout
    assert "disabled 0" in again, again


# What EventBridge sends a function on a schedule (UserSyncSchedule).
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-07T09:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/user-sync"],
    "detail": {},
}


def test_the_scheduled_user_sync_does_what_the_cli_does(backend, tmp_path):
    """The user-sync binary, as the stack's scheduled function, on a Runtime API."""
    from runtime_api import RuntimeApi

    b = backend
    name = "sched" + uuid.uuid4().hex[:6]
    b.add(name, b.people["alice"])
    f = Function(b.stack_env)
    try:
        assert login(f, name, b.people["alice"])[0] == 302
    finally:
        f.stop()
    b.remove(name)
    api = RuntimeApi()
    with open(tmp_path / "user-sync.log", "wb") as log:
        proc = api.start_function(
            os.path.join(ROOT, "target", "debug", "user-sync"),
            b.stack_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            kind, reply, _ = api.invoke(SCHEDULED)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            api.close()
    ROWS.append((b.name, "scheduled user sync", json.dumps(reply), "", ""))
    assert kind == "response", reply
    assert name in reply["disabled"], reply
    assert record(b, name)["enabled"] == {"BOOL": False}
    lines = (tmp_path / "user-sync.log").read_text()
    assert "user_disabled_by_sync" in lines and name in lines, lines


def lock(b, name):
    if b.name == "ldap":
        b._admin(
            "ldapmodify",
            f"dn: uid={name},ou=people,{SUFFIX}\nchangetype: modify\n"
            "add: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
        )
    else:
        b.idp.admin_disable_user(UserPoolId=b.pool, Username=name)


def test_zz_print_the_table():
    print("\n| directory | spelling | answer | record reached | token |\n|---|---|---|---|---|")
    for row in ROWS:
        print("| " + " | ".join(str(c) for c in row) + " |")
