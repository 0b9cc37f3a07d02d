"""Whether a 401 tells what failed: the medians of an unknown name, a wrong password and a
wrong password for a user imported from Quay (bcrypt, cost 12), which must look alike
(docs/hardening.md, "Uniform failures")."""

import os
import statistics
import time

import bcrypt
import boto3

from .answers import check, status_is
from .events import event, with_auth
from .setup import default_tables_env, local_stack
from .table import measured_at, print_table
from .timing import Instance

# The failed-login record a name's back-off counts from, reset before each attempt so
# every 401 is a first failure.
FAILED_LOGINS_TABLE = "direct-oauth-failed-logins"
# The user each kind of failure logs in as; `username` is the Quay example's.
USERS = {"wrong": "username", "unknown": "no-such-user", "imported": "imported-user"}
LABELS = [
    ("unknown", "unknown user"),
    ("wrong", "wrong password"),
    ("imported", "imported bcrypt user, cost 12"),
]


def _interleaved_401s(fn, env, runs):
    """{kind: [ms]} of `runs` wrong logins of each kind, interleaved on one warm instance,
    and the set of answer bodies they got."""
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    times = {kind: [] for kind in USERS}
    answers = set()
    with Instance(fn, env) as instance:
        for i in range(runs * len(USERS)):
            kind = list(USERS)[i % len(USERS)]
            ddb.delete_item(TableName=FAILED_LOGINS_TABLE, Key={"username": {"S": USERS[kind]}})
            t0 = time.monotonic()
            got, reply, at = instance.invoke(with_auth(event(), USERS[kind], "wrong-password"))
            check(got == "response", f"401 {kind} #{i}: want a response", reply)
            status_is(401)(reply, f"401 {kind} #{i}")
            answers.add(reply.get("body"))
            times[kind].append((at - t0) * 1000)
    return times, answers


def enumeration_medians(fn, stack, runs):
    """The rows of the three 401 medians and how far apart they are."""
    quay_hash = bcrypt.hashpw(b"quay-password", bcrypt.gensalt(rounds=12)).decode()
    stack.admin("user", "import-quay", stdin=f"imported-user,{quay_hash}\n")
    times, answers = _interleaved_401s(fn, stack.env, runs)
    check(len(answers) == 1, "every kind of failure: one identical answer", answers)
    m = {kind: statistics.median(t) for kind, t in times.items()}
    rows = [(f"401 median, {label} (n={runs})", "", f"{m[kind]:.2f} ms") for kind, label in LABELS]
    slowest = max(m.values())
    rows.append(
        (
            "401 medians, fastest vs slowest of the three",
            "within 15%",
            f"{(slowest - min(m.values())) / slowest * 100:.1f}%",
        )
    )
    return rows


def enumeration_rows(plan, stack):
    return enumeration_medians(plan.binary("authorize-app"), stack, plan.login_runs)


def enumeration_only(bindir, runs=20):
    """The 401 medians alone, for comparing two builds (`--enumeration target/debug`)."""
    with local_stack(bindir, default_tables_env) as stack:
        rows = enumeration_medians(os.path.join(bindir, "authorize-app"), stack, runs)
    print_table(rows, f"401 medians, {bindir}, measured at {measured_at()}")
