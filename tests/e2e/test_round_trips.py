"""AWS round trips per invocation, as the function reports them on its request log line:
a warm success costs at most 2 DynamoDB round trips and no SSM call; a cold start and each
cache expiry cost exactly 1 SSM call."""

import json
import time

from conftest import QUAY_REDIRECT, basic, v2_event

QUAY_AUTH = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl"
FORM = "client_id=some_client_id&redirect_uri=" + QUAY_REDIRECT + "&scope=repo:read"


def request_lines(output):
    lines = [json.loads(l) for l in output.splitlines() if l.startswith("{")]
    return [l for l in lines if "dynamodb_calls" in l]


def test_round_trips_per_request(start_function, reset_failures, make_user):
    reset_failures("username")
    name, _ = make_user()
    f = start_function(DIRECT_OAUTH_WHITELIST_CACHE_SECONDS=1)
    ok = v2_event(FORM, QUAY_AUTH)
    assert f.invoke(ok)[0] == 302          # cold
    assert f.invoke(ok)[0] == 302          # warm
    assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
    time.sleep(1.1)
    assert f.invoke(ok)[0] == 302          # whitelist cache expired
    assert f.invoke(v2_event(None, QUAY_AUTH, method="GET"))[0] == 405
    cold, warm, failed, expired, get = request_lines(f.stop())
    assert (cold["ssm_calls"], cold["dynamodb_calls"]) == (1, 2)
    assert (warm["ssm_calls"], warm["dynamodb_calls"]) == (0, 2)
    # A failed login: the batch read and the failure count.
    assert (failed["ssm_calls"], failed["dynamodb_calls"]) == (0, 2)
    assert (expired["ssm_calls"], expired["dynamodb_calls"]) == (1, 2)
    assert (get["ssm_calls"], get["dynamodb_calls"]) == (0, 0)


def test_a_refusal_from_the_cached_whitelist_reads_nothing(start_function):
    f = start_function()
    assert f.invoke(v2_event(FORM, QUAY_AUTH))[0] == 302
    refused = v2_event(FORM.replace("some_client_id", "not_listed"), QUAY_AUTH)
    assert f.invoke(refused)[0] == 403
    _, not_listed = request_lines(f.stop())
    assert (not_listed["ssm_calls"], not_listed["dynamodb_calls"]) == (0, 0)


def test_a_success_after_failures_resets_in_the_same_write(start_function, reset_failures,
                                                           make_user):
    name, password = make_user()
    f = start_function()
    assert f.invoke(v2_event(FORM, basic(name, "wrong")))[0] == 401
    time.sleep(0.6)  # past the first back-off window
    assert f.invoke(v2_event(FORM, basic(name, password)))[0] == 302
    lines = request_lines(f.stop())
    assert lines[-1]["dynamodb_calls"] == 2, "token write and counter reset in one transaction"
