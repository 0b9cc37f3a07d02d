#!/usr/bin/env python3
"""Writes events/: one sample event per front door and scenario.

Each event starts from the shape `sam local generate-event` prints for that front door
(API Gateway REST v1, HTTP API v2, ALB), with the request's method, headers and body set
for the scenario. A Lambda function URL sends the HTTP API v2 shape with its own domain.
Re-run after changing a scenario: `make events` (needs the project virtualenv for sam).
"""

import base64
import copy
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAM = os.path.join(ROOT, ".venv", "bin", "sam")
PATH = "/oauth/authorizeapp"
QUAY_AUTH = "Basic " + base64.b64encode(b"username:passwordhere").decode()
WRONG_AUTH = "Basic " + base64.b64encode(b"username:not-the-password").decode()
GOOD_FORM = ("client_id=some_client_id"
             "&redirect_uri=https://my/internal/application/token_created"
             "&scope=repo:write,org:admin")

# scenario -> (method, authorization, form body)
SCENARIOS = {
    "success": ("POST", QUAY_AUTH, GOOD_FORM),
    "wrong-password": ("POST", WRONG_AUTH, GOOD_FORM),
    "not-whitelisted": ("POST", QUAY_AUTH, GOOD_FORM.replace("some_client_id", "unlisted_client")),
    "redirect-mismatch": ("POST", QUAY_AUTH,
                          GOOD_FORM.replace("token_created", "token_created.evil")),
    "get": ("GET", QUAY_AUTH, None),
}


def sam_event(*args):
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    out = subprocess.run([SAM, "local", "generate-event", *args], check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def request_headers(auth, has_body):
    headers = {"Authorization": auth, "User-Agent": "direct-oauth-sample/1.0"}
    if has_body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers


def rest_v1(base, method, auth, body):
    e = copy.deepcopy(base)
    e.update(httpMethod=method, path=PATH, resource=PATH, pathParameters=None,
             queryStringParameters=None, multiValueQueryStringParameters=None,
             stageVariables=None, body=body, isBase64Encoded=False)
    for name, value in request_headers(auth, body is not None).items():
        e["headers"][name] = value
        e["multiValueHeaders"][name] = [value]
    e["requestContext"].update(httpMethod=method, path="/prod" + PATH, resourcePath=PATH,
                               stage="prod")
    return e


def http_v2(base, method, auth, body, domain=None):
    e = copy.deepcopy(base)
    e.update(routeKey="POST " + PATH if domain is None else "$default", rawPath=PATH,
             rawQueryString="", isBase64Encoded=body is not None)
    for k in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        e.pop(k, None)
    e["headers"] = {k.lower(): v for k, v in request_headers(auth, body is not None).items()}
    # HTTP APIs and function URLs deliver form bodies base64-encoded.
    e["body"] = base64.b64encode(body.encode()).decode() if body is not None else None
    if e["body"] is None:
        del e["body"]
    ctx = e["requestContext"]
    ctx["http"].update(method=method, path=PATH)
    ctx.pop("authentication", None)
    ctx.pop("authorizer", None)
    if domain:
        ctx.update(domainName=domain, domainPrefix=domain.split(".")[0], apiId=domain.split(".")[0],
                   routeKey="$default", stage="$default")
        e["headers"]["host"] = domain
    else:
        ctx["routeKey"] = e["routeKey"]
        e["headers"]["host"] = ctx["domainName"]
    return e


def alb(base, method, auth, body, multi):
    e = copy.deepcopy(base)
    e.update(httpMethod=method, path=PATH, queryStringParameters={}, body=body or "",
             isBase64Encoded=False)
    headers = dict(e["headers"])
    headers.update({k.lower(): v for k, v in request_headers(auth, body is not None).items()})
    if multi:
        del e["headers"], e["queryStringParameters"]
        e["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        e["multiValueQueryStringParameters"] = {}
    else:
        e["headers"] = headers
    return e


def main():
    bases = {
        "rest": sam_event("apigateway", "aws-proxy", "--method", "POST", "--path", PATH[1:]),
        "http": sam_event("apigateway", "http-api-proxy"),
        "alb": sam_event("alb", "request"),
    }
    doors = {
        "apigw-rest-v1": lambda m, a, b: rest_v1(bases["rest"], m, a, b),
        "apigw-http-v2": lambda m, a, b: http_v2(bases["http"], m, a, b),
        "alb": lambda m, a, b: alb(bases["alb"], m, a, b, multi=False),
        "alb-multi-value": lambda m, a, b: alb(bases["alb"], m, a, b, multi=True),
        "function-url": lambda m, a, b: http_v2(
            bases["http"], m, a, b, domain="abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"),
    }
    for door, make in doors.items():
        os.makedirs(os.path.join(ROOT, "events", door), exist_ok=True)
        for scenario, (method, auth, body) in SCENARIOS.items():
            path = os.path.join(ROOT, "events", door, scenario + ".json")
            with open(path, "w") as f:
                json.dump(make(method, auth, body), f, indent=2)
                f.write("\n")
    print(f"wrote {len(doors) * len(SCENARIOS)} events under events/", file=sys.stderr)


if __name__ == "__main__":
    main()
