#!/usr/bin/env python3
"""Writes events/: one sample event per front door and scenario.

Each event starts from the shape `sam local generate-event` prints for that front door
(API Gateway REST v1, HTTP API v2, ALB), with the request's method, headers and body set
for the scenario. A Lambda function URL sends the HTTP API v2 shape with its own domain.
Re-run after changing a scenario: `make events` (needs the project virtualenv for sam).
"""

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys

from joserfc import jwk, jws

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAM = os.path.join(ROOT, ".venv", "bin", "sam")
PATH = "/oauth/authorizeapp"
QUAY_AUTH = "Basic " + base64.b64encode(b"username:passwordhere").decode()
WRONG_AUTH = "Basic " + base64.b64encode(b"username:not-the-password").decode()
GOOD_FORM = (
    "client_id=some_client_id"
    "&redirect_uri=https://my/internal/application/token_created"
    "&scope=repo:write,org:admin"
)

# A PKCE pair (RFC 7636): the challenge is base64url(SHA-256(verifier)).
VERIFIER = "sample-code-verifier-of-at-least-43-characters-0123456789"
CHALLENGE = "gfzeziJ1IdYoeJRWT5yILFcSdu0V_s985iPvd-8n4BI"

# The sample DPoP client's key: public, like the sample tokens; local stacks only.
SAMPLE_DPOP_KEY = {
    "crv": "P-256",
    "kty": "EC",
    "x": "pQxBs788rmLTHSecbFVfkxXT85Kr080SX59nau1tFq0",
    "y": "wpAXS-w83yT1jB3ricLuwQITLTkbgFBDxvMQjmj_zvg",
    "d": "NAQvyyXpw0-l0XroW5aMJKuYzr0QdbpaDTfpFuHuJn8",
}
# Its RFC 7638 thumbprint: the bound sample token's record names it.
SAMPLE_DPOP_JKT = "esYLfTqfVY8miXwfnky2uTNg-loRAve95BV8R8ivsds"
# A proof's iat from 2020: every sample proof is out of any window, so each event gets the
# same answer wherever it is sent (its place in the event is what it shows).
STALE_IAT = 1_600_000_000


def stale_proof(method, htu, ath=None):
    """A DPoP proof (RFC 9449) by the sample key, signed with joserfc."""
    key = jwk.ECKey.import_key(SAMPLE_DPOP_KEY)
    claims = {"jti": f"sample-{method}-{htu}", "htm": method, "htu": htu, "iat": STALE_IAT}
    if ath:
        claims["ath"] = ath
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), key)


def with_header(event, name, value):
    """`event` with one more request header, in whichever maps it has."""
    if isinstance(event.get("headers"), dict):
        event["headers"][name] = value
    if isinstance(event.get("multiValueHeaders"), dict):
        event["multiValueHeaders"][name] = [value]
    return event


# scenario -> (method, authorization, form body[, path])
SCENARIOS = {
    "success": ("POST", QUAY_AUTH, GOOD_FORM),
    "wrong-password": ("POST", WRONG_AUTH, GOOD_FORM),
    "not-whitelisted": ("POST", QUAY_AUTH, GOOD_FORM.replace("some_client_id", "unlisted_client")),
    "redirect-mismatch": (
        "POST",
        QUAY_AUTH,
        GOOD_FORM.replace("token_created", "token_created.evil"),
    ),
    "get": ("GET", QUAY_AUTH, None),
    # The code flow: a code with PKCE, an exchange of a code nobody issued, introspection by
    # a public client (refused), and discovery.
    "code": (
        "POST",
        QUAY_AUTH,
        GOOD_FORM.replace("repo:write,org:admin", "repo:read")
        + f"&response_type=code&state=s1&code_challenge={CHALLENGE}"
        "&code_challenge_method=S256",
    ),
    "exchange-unknown-code": (
        "POST",
        None,
        "grant_type=authorization_code&client_id=some_client_id"
        f"&code=no-such-code&code_verifier={VERIFIER}",
        "/oauth/access_token",
    ),
    "introspect-public-client": (
        "POST",
        None,
        "token=whatever&client_id=some_client_id",
        "/oauth/introspect",
    ),
    "discovery": ("GET", None, None, "/.well-known/oauth-authorization-server"),
    # A DPoP proof in its header (added by main): a stale one, refused (invalid_dpop_proof).
    "dpop-stale-proof": ("POST", QUAY_AUTH, GOOD_FORM),
}


def sam_event(*args):
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    out = subprocess.run(
        [SAM, "local", "generate-event", *args], check=True, capture_output=True, text=True, env=env
    ).stdout
    return json.loads(out)


def request_headers(auth, has_body):
    headers = {"User-Agent": "direct-oauth-sample/1.0"}
    if auth:
        headers["Authorization"] = auth
    if has_body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return headers


def rest_v1(base, method, auth, body, path=PATH):
    e = copy.deepcopy(base)
    e.update(
        httpMethod=method,
        path=path,
        resource=path,
        pathParameters=None,
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        stageVariables=None,
        body=body,
        isBase64Encoded=False,
    )
    for name, value in request_headers(auth, body is not None).items():
        e["headers"][name] = value
        e["multiValueHeaders"][name] = [value]
    e["requestContext"].update(
        httpMethod=method, path="/prod" + path, resourcePath=path, stage="prod"
    )
    return e


def http_v2(base, method, auth, body, domain=None, path=PATH):
    e = copy.deepcopy(base)
    e.update(
        routeKey=f"ANY {path}" if domain is None else "$default",
        rawPath=path,
        rawQueryString="",
        isBase64Encoded=body is not None,
    )
    for k in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        e.pop(k, None)
    e["headers"] = {k.lower(): v for k, v in request_headers(auth, body is not None).items()}
    # HTTP APIs and function URLs deliver form bodies base64-encoded.
    e["body"] = base64.b64encode(body.encode()).decode() if body is not None else None
    if e["body"] is None:
        del e["body"]
    ctx = e["requestContext"]
    ctx["http"].update(method=method, path=path)
    ctx.pop("authentication", None)
    ctx.pop("authorizer", None)
    if domain:
        ctx.update(
            domainName=domain,
            domainPrefix=domain.split(".")[0],
            apiId=domain.split(".")[0],
            routeKey="$default",
            stage="$default",
        )
        e["headers"]["host"] = domain
    else:
        ctx["routeKey"] = e["routeKey"]
        e["headers"]["host"] = ctx["domainName"]
    return e


def alb(base, method, auth, body, multi, path=PATH):
    e = copy.deepcopy(base)
    e.update(
        httpMethod=method,
        path=path,
        queryStringParameters={},
        body=body or "",
        isBase64Encoded=False,
    )
    headers = dict(e["headers"])
    headers.update({k.lower(): v for k, v in request_headers(auth, body is not None).items()})
    if multi:
        del e["headers"], e["queryStringParameters"]
        e["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        e["multiValueQueryStringParameters"] = {}
    else:
        e["headers"] = headers
    return e


# Sample tokens for the authorizer's events. They exist only where a test (or you, with
# tests/support/sample_tokens.py) writes their records into a local stack.
SAMPLE_TOKENS = {
    "valid": "sampleValidTokenId0001" + "localTestSecretForTheValidSampleToken000001",
    "expired": "sampleExpiredTokenId01" + "localTestSecretForTheExpiredSampleToken0001",
    "revoked": "sampleRevokedTokenId01" + "localTestSecretForTheRevokedSampleToken0001",
    "unknown": "sampleUnknownTokenId01" + "localTestSecretForAnUnknownSampleToken00001",
}
SAMPLE_TOKENS["wrong-secret"] = SAMPLE_TOKENS["valid"][:22] + "x" * 43
# Bound to the sample DPoP key (its record carries SAMPLE_DPOP_JKT).
BOUND_TOKEN = "sampleBoundTokenId0001" + "localTestSecretForTheBoundSampleToken000001"

AUTHORIZER_SCENARIOS = {name: "Bearer " + token for name, token in SAMPLE_TOKENS.items()}
# A bound token is refused as Bearer, and with a stale proof (the DPoP header, added by
# authorizer_events; a TOKEN authorizer's event has no place for one).
AUTHORIZER_SCENARIOS["dpop-bound-as-bearer"] = "Bearer " + BOUND_TOKEN
AUTHORIZER_SCENARIOS["dpop-stale-proof"] = "DPoP " + BOUND_TOKEN
AUTHORIZER_SCENARIOS["malformed"] = "Bearer not-a-direct-oauth-token"
AUTHORIZER_SCENARIOS["basic-scheme"] = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl"
AUTHORIZER_SCENARIOS["missing-header"] = None

ROUTE = "GET /whoami"


def authorizer_events(token_base, request_base):
    """(door, scenario) -> event, for HTTP API v2 (simple responses), REST TOKEN, REST REQUEST."""
    out = {}
    for scenario, auth in AUTHORIZER_SCENARIOS.items():
        v2 = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/whoami",
            "identitySource": [auth] if auth else [],
            "routeKey": ROUTE,
            "rawPath": "/whoami",
            "rawQueryString": "",
            "headers": {
                "host": "abcdef123.execute-api.us-east-1.amazonaws.com",
                "user-agent": "direct-oauth-sample/1.0",
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abcdef123",
                "domainName": "abcdef123.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abcdef123",
                "http": {
                    "method": "GET",
                    "path": "/whoami",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "direct-oauth-sample/1.0",
                },
                "requestId": "id",
                "routeKey": ROUTE,
                "stage": "$default",
                "time": "12/Mar/2020:19:03:58 +0000",
                "timeEpoch": 1583348638390,
            },
        }
        if auth:
            v2["headers"]["authorization"] = auth
        if scenario == "dpop-stale-proof":
            ath = base64.urlsafe_b64encode(hashlib.sha256(BOUND_TOKEN.encode()).digest())
            proof = stale_proof(
                "GET",
                "https://abcdef123.execute-api.us-east-1.amazonaws.com/whoami",
                ath.decode().rstrip("="),
            )
            v2["headers"]["dpop"] = proof
        out[("http-api-v2", scenario)] = v2
        token = copy.deepcopy(token_base)
        token["authorizationToken"] = auth or ""
        out[("rest-token", scenario)] = token
        request = copy.deepcopy(request_base)
        request["headers"] = {
            k: v for k, v in request["headers"].items() if k.lower() != "authorization"
        }
        request["multiValueHeaders"] = {k: [v] for k, v in request["headers"].items()}
        if auth:
            request["headers"]["Authorization"] = auth
            request["multiValueHeaders"]["Authorization"] = [auth]
        if scenario == "dpop-stale-proof":
            with_header(request, "DPoP", v2["headers"]["dpop"])
        out[("rest-request", scenario)] = request
    return out


def main():
    bases = {
        "rest": sam_event("apigateway", "aws-proxy", "--method", "POST", "--path", PATH[1:]),
        "http": sam_event("apigateway", "http-api-proxy"),
        "alb": sam_event("alb", "request"),
    }
    doors = {
        "apigw-rest-v1": lambda m, a, b, p: rest_v1(bases["rest"], m, a, b, p),
        "apigw-http-v2": lambda m, a, b, p: http_v2(bases["http"], m, a, b, path=p),
        "alb": lambda m, a, b, p: alb(bases["alb"], m, a, b, multi=False, path=p),
        "alb-multi-value": lambda m, a, b, p: alb(bases["alb"], m, a, b, multi=True, path=p),
        "function-url": lambda m, a, b, p: http_v2(
            bases["http"],
            m,
            a,
            b,
            path=p,
            domain="abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
        ),
    }
    for door, make in doors.items():
        os.makedirs(os.path.join(ROOT, "events", door), exist_ok=True)
        for scenario, (method, auth, body, *path) in SCENARIOS.items():
            target = os.path.join(ROOT, "events", door, scenario + ".json")
            event = make(method or "POST", auth, body, path[0] if path else PATH)
            if scenario == "dpop-stale-proof":
                with_header(
                    event,
                    "dpop" if "lambda-url" in door or "v2" in door else "DPoP",
                    stale_proof("POST", "https://as.example" + PATH),
                )
            with open(target, "w") as f:
                json.dump(event, f, indent=2)
                f.write("\n")
    authorizer = authorizer_events(
        sam_event("apigateway", "authorizer"), sam_event("apigateway", "request-authorizer")
    )
    for (door, scenario), ev in authorizer.items():
        folder = os.path.join(ROOT, "events", "token-authorizer", door)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, scenario + ".json"), "w") as f:
            json.dump(ev, f, indent=2)
            f.write("\n")
    print(
        f"wrote {len(doors) * len(SCENARIOS) + len(authorizer)} events under events/",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
