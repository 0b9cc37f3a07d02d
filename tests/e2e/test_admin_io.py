"""How the admin CLI talks to operators and scripts: passwords asked on a terminal, JSON
output for every list and show command, and a deployed stack named instead of a variable
per table and parameter."""

import json
import os
import pty
import re
import subprocess
import termios
import time

import boto3
import pytest

from conftest import ROOT, admin, basic, resources, uid
from tokens import id_of, secret_of

BINARY = os.path.join(ROOT, "target", "debug", "direct-oauth-admin")
FORM = "client_id=some_client_id&scope=repo:read"


pytestmark = pytest.mark.usefixtures("aws_stack")


def on_a_terminal(args, answers):
    """Runs the CLI with a pseudo-terminal as its standard input and output, typing each
    answer after the prompt that asks for it; returns (exit status, what it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BINARY, [BINARY, *args])
    seen, pending, answered = b"", list(answers), 0
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        # What is asked, without the terminal's control sequences (a yes/no question
        # hides the cursor after its "[Y/n] ").
        asked = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen[answered:]).rstrip()
        if pending and asked.endswith(b"]"):
            # A yes/no question ("[Y/n]") reads one key, no Enter; a bare Enter is "\r".
            os.write(fd, pending.pop(0).encode())
            answered = len(seen)
        elif pending and asked.endswith(b":"):
            # Type only once the prompt has turned echo off, as a person would after
            # reading it: typed earlier, the terminal itself would echo the keys.
            echo_off_by = time.monotonic() + 5
            while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < echo_off_by:
                time.sleep(0.01)
            os.write(fd, pending.pop(0).encode() + b"\n")
            answered = len(seen)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


def test_a_password_is_asked_twice_on_a_terminal_and_never_echoed(post):
    name = uid("tty-")
    code, out = on_a_terminal(["user", "add", name], ["tty secret 1", "tty secret 1"])
    assert code == 0 and f"user {name}: added" in out, out
    assert "tty secret 1" not in out, "no echo"
    assert post(FORM, auth=basic(name, "tty secret 1")).status == 302
    code, out = on_a_terminal(
        ["user", "set-password", name, "--keep-tokens"], ["new one", "not the same"]
    )
    assert code == 1 and "differ" in out, out
    code, out = on_a_terminal(["user", "set-password", name, "--keep-tokens"], ["", ""])
    assert code == 1 and "empty" in out, out


def test_a_reset_on_a_terminal_counts_the_live_tokens_and_revokes_unless_told_not_to(
    post, make_user
):
    name, password = make_user()

    def token():
        reply = post(FORM, auth=basic(name, password))
        assert reply.status == 302, reply.body
        return dict(reply.fragment())["access_token"]

    kept, _ = token(), token()
    code, out = on_a_terminal(["user", "set-password", name], ["n", password, password])
    assert code == 0 and "has 2 live token(s)" in out and "tokens kept" in out, out
    assert admin("token", "verify", stdin=kept).returncode == 0
    code, out = on_a_terminal(["user", "set-password", name], ["\r", password, password])
    assert code == 0 and "2 token(s) revoked" in out, out
    assert "revoked" in admin("token", "verify", stdin=kept, check=False).stderr


def test_every_list_and_show_command_speaks_json(post, make_user):
    name, password = make_user()
    client = uid("json_")
    admin(
        "app",
        "add",
        client,
        "--redirect-uri",
        "https://json.example/cb",
        "--scope-ceiling",
        "repo:read",
    )
    apps = json.loads(admin("app", "list", "--output", "json").stdout)
    mine = [a for a in apps if a["client_id"] == client]
    assert mine == [
        {
            "client_id": client,
            "name": mine[0]["name"],
            "redirect_uris": ["https://json.example/cb"],
            "scope_ceiling": ["repo:read"],
            "confidential": False,
            "introspect_any": False,
            "allowed_users": [],
            "allowed_groups": [],
            "require_dpop": False,
            "implicit": False,
            "device_grant": False,
            "token_lifetime_seconds": None,
            "api_tokens": {"default_days": 30, "max_days": 90, "no_expiry": False, "cap": 10},
            "refresh_tokens": None,
        }
    ]
    assert "some_client_id" in json.loads(admin("--output", "json", "whitelist", "list").stdout)

    reply = post(FORM, auth=basic(name, password))
    token = dict(reply.fragment())["access_token"]
    (listed,) = json.loads(admin("token", "list", "--user", name, "--output", "json").stdout)
    assert listed["token_id"] == id_of(token) and listed["status"] == "valid"
    assert secret_of(token) not in json.dumps(listed), "never the secret"
    shown = json.loads(admin("token", "verify", "--output", "json", stdin=token).stdout)
    assert shown["valid"] is True and shown["username"] == name
    admin("token", "revoke", id_of(token))
    refused = admin("token", "verify", "--output", "json", stdin=token, check=False)
    assert refused.returncode == 1 and json.loads(refused.stdout)["valid"] is False
    remaining = json.loads(admin("user", "bcrypt-remaining", "--output", "json").stdout)
    assert isinstance(remaining["bcrypt_remaining"], int)
    text = admin("app", "list").stdout
    assert text.startswith(
        "CLIENT_ID\tNAME\tREDIRECT_URIS\tSCOPE_CEILING\tINTROSPECT_ANY\tIMPLICIT\tAPI_TOKENS\n"
    )


def test_a_deployed_stack_is_named_instead_of_a_variable_each():
    """A stack whose outputs name the test stack's tables and a whitelist parameter of its
    own, as template.yaml's outputs do (a plain StringList: no KMS key output); the CLI
    runs with no DIRECT_OAUTH_* variable."""
    cf = boto3.client("cloudformation")
    stack = uid("stack-")
    outputs = {r["output"]: {"Value": r["value"]} for r in resources() if not r["optional"]}
    parameter = f"/{stack}/client-whitelist"
    outputs["WhitelistParameterName"] = {"Value": parameter}
    template = {
        "Resources": {
            "Whitelist": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": parameter, "Type": "StringList", "Value": "only_in_stack"},
            }
        },
        "Outputs": outputs,
    }
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECT_OAUTH_")}

    def run(*args):
        return subprocess.run([BINARY, *args], env=env, capture_output=True, text=True)

    listed = run("--stack", stack, "whitelist", "list")
    assert listed.returncode == 0 and listed.stdout.split() == ["only_in_stack"], listed
    tables = run("--stack", stack, "app", "list")
    assert tables.returncode == 0 and "some_client_id" in tables.stdout, tables
    named = run("--stack", stack, "env")
    assert f"export DIRECT_OAUTH_WHITELIST_PARAMETER={parameter}\n" in named.stdout, named
    by_env = run("whitelist", "list")
    assert "only_in_stack" not in by_env.stdout, "without the stack: the variables' names"
    missing = run("--stack", uid("no-such-"), "whitelist", "list")
    assert missing.returncode == 1 and "no-such-" in missing.stderr
