"""AWS round trips per invocation, as the function reports them on its request log line:
a success costs 4 DynamoDB calls in 2 rounds and no SSM call, from its first request on;
the start-up reads the whitelist (1 SSM call) and opens the first round's two DynamoDB
connections, on a line of its own; each cache expiry costs exactly 1 SSM call.

Each test starts its own function instance and uses its own fresh user, so neither the
order of the tests nor a slow machine changes what they see: requests that must hit the
cached whitelist run on an instance with an hour-long cache, and the one that must miss it
waits longer than its instance's 1 s cache (a lower bound only)."""

import json
import os
import time

from conftest import (
    QUAY_REDIRECT,
    ROOT,
    Function,
    admin,
    basic,
    failed_logins,
    token_from,
    tokens_of,
    v2_event,
    wait_out_back_off,
)
from fault_proxy import FaultProxy
from tokens import id_of, named

FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read"
LONG_CACHE = dict(DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=3600)


def request_lines(output):
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "dynamodb_calls" in line]


def calls(line):
    return line["ssm_calls"], line["dynamodb_calls"]


def start_line(output):
    (line,) = [json.loads(x) for x in output.splitlines() if '"event":"started"' in x]
    return line


def test_round_trips_per_request(start_function, make_user):
    name, password = make_user()
    ok = v2_event(FORM, basic(name, password))
    f = start_function(**LONG_CACHE)
    assert f.invoke(ok)[0] == 302  # cold
    assert f.invoke(ok)[0] == 302  # warm
    assert f.invoke(v2_event(FORM, basic(name + "-nobody", "wrong")))[0] == 401
    assert f.invoke(v2_event(None, basic(name, password), method="GET"))[0] == 405
    output = f.stop()
    cold, warm, failed, get = request_lines(output)
    assert [line["status"] for line in (cold, warm, failed, get)] == [302, 302, 401, 405]
    # Ahead of the first request: the whitelist, and a connection for each of the first
    # round's two DynamoDB calls.
    started = start_line(output)
    assert (started["startup_ssm_calls"], started["startup_dynamodb_calls"]) == (1, 2)
    # A success: the batch read and the admission, then the token write and the release;
    # the cold one too, since the whitelist was read before it.
    assert calls(cold) == (0, 4)
    assert calls(warm) == (0, 4)
    # A failed login: the batch read and the admission, then the failure count.
    assert calls(failed) == (0, 3)
    assert calls(get) == (0, 0)


def test_the_log_line_says_where_the_time_went(start_function, make_user):
    """`total_ms` of the request, `aws_ms` waiting on AWS (overlapping calls once) and
    `hashing_ms` hashing passwords: the parts the cold-start split of `make bench` reads."""
    name, password = make_user()
    f = start_function(**LONG_CACHE)
    assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302
    assert f.invoke(v2_event(None, basic(name, password), method="GET"))[0] == 405
    login, get = request_lines(f.stop())
    assert login["aws_ms"] > 0 and login["hashing_ms"] > 0, login
    assert login["total_ms"] >= max(login["aws_ms"], login["hashing_ms"]), login
    assert (get["aws_ms"], get["hashing_ms"]) == (0, 0), get
    assert get["total_ms"] >= 0


def test_the_request_line_names_its_invocation_and_is_a_cloudwatch_metric(
    start_function, make_user
):
    """Request id and trace id from the Runtime API, the caller's address from the event,
    and the embedded metric format: `_aws` names each metric and the values are fields."""
    name, password = make_user()
    f = start_function(**LONG_CACHE)
    assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302
    assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
    ok, failed = request_lines(f.stop())
    assert ok["request_id"] and ok["request_id"] != failed["request_id"]
    assert ok["trace_id"].startswith("Root=1-")
    assert ok["source_ip"] == "192.168.0.1/32"  # as events/apigw-http-v2 has it
    emf = ok["_aws"]["CloudWatchMetrics"][0]
    assert emf["Namespace"] == "DirectOAuth" and emf["Dimensions"] == [["Function"]]
    names = [m["Name"] for m in emf["Metrics"]]
    assert {
        "TokensIssued",
        "Status401",
        "Status429",
        "Status503",
        "SsmThrottles",
        "HashingMs",
    } <= set(names)
    assert all(isinstance(line[n], (int, float)) for line in (ok, failed) for n in names)
    assert (ok["TokensIssued"], ok["Status401"], ok["SsmCalls"]) == (1, 0, 0)
    assert (failed["TokensIssued"], failed["Status401"], failed["SsmCalls"]) == (0, 1, 0)
    assert ok["Function"] == "authorize-app"


def test_throttled_ssm_attempts_are_counted(start_function, make_user):
    name, password = make_user()
    ssm = FaultProxy(os.environ["AWS_ENDPOINT_URL"])
    try:
        ssm.fail_operations("AmazonSSM.GetParameter", how="throttle", times=2)
        f = start_function(AWS_ENDPOINT_URL_SSM=ssm.url, **LONG_CACHE)
        assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302
        output = f.stop()
    finally:
        ssm.close()
    # The whitelist is read at start-up: its line carries the SSM metrics.
    line = start_line(output)
    assert (line["SsmCalls"], line["SsmThrottles"]) == (3, 2), line
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Function"]]
    (request,) = request_lines(output)
    assert (request["SsmCalls"], request["SsmThrottles"]) == (0, 0), request


def test_each_whitelist_cache_expiry_costs_one_ssm_call(start_function, make_user):
    name, password = make_user()
    ok = v2_event(FORM, basic(name, password))
    f = start_function(DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1)
    assert f.invoke(ok)[0] == 302  # cold
    time.sleep(1.1)  # the list was fetched before that answer: now it is older than 1 s
    assert f.invoke(ok)[0] == 302  # whitelist cache expired
    cold, expired = request_lines(f.stop())
    # Read at start-up: none, unless a busy machine let that 1 s pass before the request.
    assert calls(cold) in [(0, 4), (1, 4)]
    assert calls(expired) == (1, 4)


def test_a_refusal_from_the_cached_whitelist_reads_nothing(start_function, make_user):
    name, password = make_user()
    f = start_function(**LONG_CACHE)
    assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302
    refused = v2_event(FORM.replace("some_client_id", "not_listed"), basic(name, password))
    assert f.invoke(refused)[0] == 403
    _, not_listed = request_lines(f.stop())
    assert calls(not_listed) == (0, 0)


def test_a_success_after_failures_keeps_the_count_and_frees_the_name_beside_the_token_write(
    start_function, make_user, dynamodb, tables
):
    """A success writes its token in one TransactWriteItems (the token, its entry under
    the user, a condition on the user as verified) and, at the same time, gives its lease
    up in an UpdateItem of its own: a failure counted at that moment can cancel neither.
    The count stays, to decay as every name's does (a reset would show a prober that the
    name was used)."""
    name, password = make_user()
    upstream = os.environ["AWS_ENDPOINT_URL"]
    ddb = FaultProxy(upstream)  # forwards everything; records each operation and its body
    try:
        f = start_function(AWS_ENDPOINT_URL_DYNAMODB=ddb.url, **LONG_CACHE)
        assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
        counter = failed_logins(dynamodb, tables, name)
        assert counter and counter["failures"]["N"] == "1", counter
        wait_out_back_off(dynamodb, tables, name)
        mark = ddb.mark()
        status, headers, _ = f.invoke(v2_event(FORM, basic(name, password)))
        assert status == 302
        token_id = id_of(token_from(headers["location"]))
        success = ddb.since(mark)
    finally:
        ddb.close()

    # The count is kept, the lease given up, and the token stored.
    kept = failed_logins(dynamodb, tables, name)
    assert kept["failures"]["N"] == "1" and "lease_id" not in kept, kept
    assert [t["token_id"]["S"] for t in tokens_of(dynamodb, tables, name)] == [token_id]
    # The admission and the release are UpdateItems; the release runs beside the write.
    assert sorted(op for op, _, _ in success) == [
        "BatchGetItem",
        "TransactWriteItems",
        "UpdateItem",
        "UpdateItem",
    ], success
    by_op = {op: body for op, body, _ in success}
    items = by_op["TransactWriteItems"]["TransactItems"]
    puts = [i["Put"] for i in items if "Put" in i]
    assert [p["TableName"] for p in puts] == [tables["tokens"], tables["user_tokens"]]
    assert puts[0]["Item"]["token_id"] == {"S": token_id}
    held = [i.get("ConditionCheck") or i.get("Update") for i in items[2:]]
    assert held[0]["TableName"] == tables["users"]
    assert "generation" in held[0]["ConditionExpression"]
    assert not any("Delete" in i for i in items), "no counter in the transaction"
    (release,) = [
        body
        for op, body, _ in success
        if op == "UpdateItem" and body["UpdateExpression"].startswith("REMOVE lease_id")
    ]
    assert (release["TableName"], release["Key"]) == (
        tables["failed_logins"],
        {"username": {"S": name}},
    )
    assert "lease_id" in release["ConditionExpression"], "only the attempt's own lease"
    lines = request_lines(f.stop())
    assert calls(lines[-1]) == (0, 4)


def authorizer_event(token):
    with open(os.path.join(ROOT, "events", "token-authorizer", "http-api-v2", "valid.json")) as f:
        event = json.load(f)
    event["headers"]["authorization"] = "Bearer " + token
    event["identitySource"] = ["Bearer " + token]
    return event


def test_a_token_is_checked_in_one_round_trip_and_one_issued_before_in_two(
    start_function, make_user
):
    """A token issued now names its user and application: the authorizer reads the three
    in one BatchGetItem, and their state still decides at that read (a revocation is seen
    at the next check). The same token without its names, as tokens were issued before,
    still checks, in a GetItem and then a BatchGetItem."""
    name, password = make_user()
    f = start_function(**LONG_CACHE)
    status, headers, _ = f.invoke(v2_event(FORM, basic(name, password)))
    assert status == 302
    token = token_from(headers["location"])
    assert named(token) == (name, "some_client_id")
    older = token.split(".", 1)[0]
    renamed = older + "." + ".".join(token.split(".")[1:][::-1])
    ddb = FaultProxy(os.environ["AWS_ENDPOINT_URL"])
    authz = Function(
        dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=ddb.url),
        os.path.join(ROOT, "target", "debug", "token-authorizer"),
    )
    try:
        seen = {}
        for label, presented in [("now", token), ("before", older), ("renamed", renamed)]:
            mark = ddb.mark()
            kind, answer, _ = authz.api.invoke(authorizer_event(presented))
            assert kind == "response", answer
            seen[label] = (answer["isAuthorized"], [op for op, _, _ in ddb.since(mark)])
        admin("user", "disable", name, "--yes")
        mark = ddb.mark()
        _, after, _ = authz.api.invoke(authorizer_event(token))
        disabled = (after["isAuthorized"], [op for op, _, _ in ddb.since(mark)])
    finally:
        output = authz.stop()
        ddb.close()
    assert seen["now"] == (True, ["BatchGetItem"]), seen
    assert seen["before"] == (True, ["GetItem", "BatchGetItem"]), seen
    # Names that are not the record's: no token of ours, whatever the names' standing.
    assert seen["renamed"][0] is False, seen
    assert disabled == (False, ["BatchGetItem"]), "the user's state decides at the one read"
    checks = [json.loads(x) for x in output.splitlines() if '"event":"authorizer"' in x]
    assert [c["dynamodb_calls"] for c in checks] == [1, 2, 1, 1], checks
