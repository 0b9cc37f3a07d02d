"""Each directory the function can check passwords with (the users table, LDAP against the
slapd scripts/bench.sh starts, and through a relay that holds each packet 5 ms each way,
as a directory in another network would; Cognito against moto): a direct approval's cold
start and warm time, and whether the answer's time tells what failed: the medians of an
unknown name, a wrong password, a disabled user's right password and (the 302 with
access_denied of check 11) the right password of a user the application is not open to,
interleaved on one warm instance, the failed-logins record reset before each (as
bench.enumeration does), within 15 %."""

import os
import statistics
import time
import uuid

import boto3

import tcp_relay

from .answers import check, issued, status_is
from .enumeration import FAILED_LOGINS_TABLE
from .events import event, with_auth, with_body
from .setup import QUAY_REDIRECT
from .timing import Instance, cold_start, warm_latency

SUFFIX = "dc=example,dc=org"
# (right login, disabled user's login) per backend, on one users table: each disabled
# user is a name of its own. The unknown name is the same for all.
PEOPLE = {
    "users": (("username", "passwordhere"), ("disabled-user", "disabled-password")),
    "ldap": (("alice", "alice-password"), ("bob", "bob-password")),
    "ldap, 5 ms relay": (("alice", "alice-password"), ("carol", "carol-password")),
    # Names of their own: the users table is shared, and a local record is one directory's.
    "cognito": (("cora", "Cora-password-1"), ("cole", "Cole-password-1")),
}
UNKNOWN = "no-such-user"
# An application open to one other user only: the right password of anyone else is
# answered 302 with access_denied (check 11), after the same work as a token.
CLOSED = "bench_closed_app"
RELAY_DELAY_S = 0.005


def _ldap(stack):
    name = "/direct-oauth/bench/ldap-bind-" + uuid.uuid4().hex[:6]
    boto3.client("ssm").put_parameter(Name=name, Value="service-secret", Type="SecureString")
    return {
        "DIRECT_OAUTH_DIRECTORY": "ldap",
        "DIRECT_OAUTH_LDAP_URL": os.environ["LDAP_URL"],
        "DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT": "true",  # the loopback slapd
        "DIRECT_OAUTH_LDAP_BIND_DN": f"cn=direct-oauth,ou=services,{SUFFIX}",
        "DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER": name,
        "DIRECT_OAUTH_LDAP_USER_BASE": f"ou=people,{SUFFIX}",
        "DIRECT_OAUTH_LDAP_GROUP_BASE": f"ou=groups,{SUFFIX}",
    }


def _ldap_relay(stack):
    port = int(os.environ["LDAP_URL"].rsplit(":", 1)[1])
    relay = tcp_relay.start(port, RELAY_DELAY_S)
    return dict(_ldap(stack), DIRECT_OAUTH_LDAP_URL=f"ldap://127.0.0.1:{relay}")


def _close_an_application(stack):
    stack.admin(
        "app", "add", CLOSED, "--redirect-uri", QUAY_REDIRECT, "--allow-user", "someone-else"
    )
    stack.admin("whitelist", "add", CLOSED)


def _cognito(stack):
    idp = boto3.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="bench-" + uuid.uuid4().hex[:6])["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="direct-oauth",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    )
    for name, password in PEOPLE["cognito"]:
        idp.admin_create_user(UserPoolId=pool, Username=name)
        idp.admin_set_user_password(
            UserPoolId=pool, Username=name, Password=password, Permanent=True
        )
    return {
        "DIRECT_OAUTH_DIRECTORY": "cognito",
        "DIRECT_OAUTH_COGNITO_USER_POOL_ID": pool,
        "DIRECT_OAUTH_COGNITO_CLIENT_ID": client["UserPoolClient"]["ClientId"],
    }


def _disable(stack, env, binary, backend):
    """The disabled user: a table user added then disabled, or a directory user whose
    local record (made by one login) an operator disabled."""
    name, password = PEOPLE[backend][1]
    if backend == "users":
        stack.admin("user", "add", name, "--password-stdin", stdin=password + "\n")
    else:
        with Instance(binary, env) as fn:
            _kind, reply, _ = fn.invoke(with_auth(event(), name, password))
        issued(reply, f"{backend}: {name}'s first login")
    stack.admin("user", "disable", name, "--yes")


def _interleaved_refusals(binary, env, backend, runs):
    (right, right_password), disabled = PEOPLE[backend]
    closed = with_body(event(), f"client_id={CLOSED}&redirect_uri={QUAY_REDIRECT}&scope=repo:read")
    logins = {
        "unknown": (event(), UNKNOWN, right_password, 401),
        "wrong": (event(), right, "wrong-password", 401),
        "disabled": (event(), *disabled, 401),
        "not allowed": (closed, right, right_password, 302),
    }
    ddb = boto3.client("dynamodb")
    times = {kind: [] for kind in logins}
    bodies = set()
    with Instance(binary, env) as fn:
        for i in range(runs * len(logins)):
            kind = list(logins)[i % len(logins)]
            ev, name, password, status = logins[kind]
            ddb.delete_item(TableName=FAILED_LOGINS_TABLE, Key={"username": {"S": name}})
            t0 = time.monotonic()
            got, reply, at = fn.invoke(with_auth(ev, name, password))
            check(got == "response", f"{backend} {kind} #{i}: want a response", reply)
            status_is(status)(reply, f"{backend} {kind} #{i}")
            if status == 401:
                bodies.add(reply.get("body"))
            else:
                location = (reply.get("headers") or {}).get("location", "")
                check("error=access_denied" in location, f"{backend} {kind}: access_denied", reply)
            times[kind].append((at - t0) * 1000)
    check(len(bodies) == 1, f"{backend}: one identical answer for every failure", bodies)
    return {kind: statistics.median(t) for kind, t in times.items()}


BACKENDS = (
    ("users", None),
    ("ldap", _ldap),
    ("ldap, 5 ms relay", _ldap_relay),
    ("cognito", _cognito),
)


def directory_rows(plan, stack):
    binary = plan.binary("authorize-app")
    _close_an_application(stack)
    rows = []
    for backend, setup in BACKENDS:
        env = dict(stack.env, **(setup(stack) if setup else {}))
        right = with_auth(event(), *PEOPLE[backend][0])
        colds = [
            cold_start(binary, env, right, issued, f"{backend} cold #{i}")[0]
            for i in range(plan.runs)
        ]
        warm = warm_latency(binary, env, right, issued, f"{backend} warm", plan.warm_runs)
        _disable(stack, env, binary, backend)
        m = _interleaved_refusals(binary, env, backend, plan.login_runs)
        spread = (max(m.values()) - min(m.values())) / max(m.values()) * 100
        rows += [
            (
                f"{backend}: direct approval, cold (median of {plan.runs})",
                "",
                f"{statistics.median(colds):.1f} ms",
            ),
            (
                f"{backend}: direct approval, warm (median of {plan.warm_runs})",
                "",
                f"{warm:.2f} ms",
            ),
            (
                f"{backend}: medians unknown / wrong / disabled / not allowed "
                f"(n={plan.login_runs})",
                "",
                " / ".join(f"{m[k]:.2f}" for k in ("unknown", "wrong", "disabled", "not allowed"))
                + " ms",
            ),
            (f"{backend}: those medians, fastest vs slowest", "within 15%", f"{spread:.1f}%"),
        ]
    return rows
