#!/usr/bin/env python3
"""An HTTP proxy on 127.0.0.1 in front of moto that can fail on demand, to test how the
function behaves when AWS does: unreachable, throttling, or a token write whose condition
fails. Tests point the function's AWS_ENDPOINT_URL_DYNAMODB / _SSM at it.

Modes (set `proxy.mode`), for every request:
  pass        forward everything
  refuse      close every connection without answering (AWS unreachable)
  throttle    answer DynamoDB's ProvisionedThroughputExceededException (HTTP 400)
  conflict    cancel the next `conflicts` token writes (TransactWriteItems) on the token id's
              condition, as DynamoDB does when the id exists

Chosen operations only (`proxy.fail_operations("PutItem", "UpdateItem", how=...)`), while
the others (e.g. `BatchGetItem`) go through; `times=N` fails only the next N requests for
those operations, then forwards them again. `how` is one of:
  refuse      close the connection without answering
  throttle    ProvisionedThroughputExceededException (HTTP 400)
  internal    InternalServerError (HTTP 500)
  lost        forward to moto (the write happens) and drop the answer: a lost response
  hold        keep the request unanswered until `proxy.release()` (at most HOLD_SECONDS),
              then forward it: a dependency slow to answer

Rate limits (`proxy.limit_rate("AmazonSSM.GetParameter", per_second=40)`): a token bucket
per operation, as Parameter Store's default quota; requests over it get ThrottlingException
("Rate exceeded", HTTP 400) and are recorded with the outcome "throttle".

Every request is recorded in `proxy.requests` as (operation, parsed JSON body, outcome),
operation being the part of `X-Amz-Target` after the dot ("ssm" requests keep their whole
target) and outcome "forwarded" or the failure; `proxy.calls` keeps the raw targets.

An SDK retries an attempt that failed or timed out (the function's clients give an attempt
2 s): each attempt is a request here. `proxy.operations(mark)` groups the requests by the
SDK's invocation id (`amz-sdk-invocation-id`, the same on every attempt of one call), so a
test can count the calls the function made, however many attempts a slow machine cost
them. `proxy.wait_for(op, outcome, since=mark)` waits until such a request has arrived.
"""

import http.server
import json
import threading
import time
from urllib.parse import urlsplit

from http_relay import answer, forward

THROTTLE = {
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "Rate of requests exceeds the allowed throughput.",
}
# The token write's transaction cancelled on its first item (the token id's condition).
CONFLICT = {
    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
    "message": "Transaction cancelled, please refer cancellation reasons for specific "
    "reasons [ConditionalCheckFailed, None, None]",
    "CancellationReasons": [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
        {"Code": "None"},
        {"Code": "None"},
    ],
}
INTERNAL = {
    "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
    "message": "Internal server error (injected by fault_proxy)",
}
SSM_THROTTLE = {"__type": "ThrottlingException", "message": "Rate exceeded"}
HOWS = ("refuse", "throttle", "internal", "lost", "hold")
# A held request is forwarded after this long even if the test never releases it.
HOLD_SECONDS = 30


def operation(target):
    """`DynamoDB_20120810.PutItem` -> `PutItem`."""
    return target.rsplit(".", 1)[-1] if target.startswith("DynamoDB_") else target


class FaultProxy:
    def __init__(self, upstream):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.mode = "pass"
        self.conflicts = 0
        self.failing = {}  # operation name -> [how, requests left or None for all]
        self.calls = []  # X-Amz-Target (DynamoDB) or "ssm" of every request seen
        self.requests = []  # (operation, JSON body or None, outcome)
        self.invocations = []  # the SDK's invocation id of each request in `requests`
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.buckets = {}  # operation -> [tokens, per second, last refill, burst]
        self.released = threading.Event()  # lets "hold" requests through
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drop(self):
                self.close_connection = True
                self.connection.close()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                op = operation(target)
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                with proxy.lock:
                    proxy.calls.append(target)
                    how = None
                    rule = proxy.failing.get(op)
                    if rule and rule[1] != 0 and (rule[2] is None or rule[2] in body):
                        how = rule[0]
                        if rule[1] is not None:
                            rule[1] -= 1
                    outcome = "forwarded"
                    if proxy.mode == "refuse":
                        outcome = "refuse"
                    elif proxy.mode == "throttle" and target.startswith("DynamoDB_"):
                        outcome = "throttle"
                    elif (
                        proxy.mode == "conflict"
                        and op == "TransactWriteItems"
                        and proxy.conflicts > 0
                    ):
                        proxy.conflicts -= 1
                        outcome = "conflict"
                    elif how:
                        outcome = how
                    elif op in proxy.buckets:
                        bucket = proxy.buckets[op]
                        now = time.monotonic()
                        bucket[0] = min(bucket[3], bucket[0] + (now - bucket[2]) * bucket[1])
                        bucket[2] = now
                        if bucket[0] >= 1:
                            bucket[0] -= 1
                        else:
                            outcome = "throttle"
                    proxy.requests.append((op, parsed, outcome))
                    proxy.invocations.append(
                        self.headers.get("amz-sdk-invocation-id")
                        or f"request-{len(proxy.invocations)}"
                    )
                    proxy.arrived.notify_all()
                if outcome == "hold":
                    proxy.released.wait(HOLD_SECONDS)
                if outcome == "refuse":
                    return self._drop()
                if outcome == "throttle":
                    return self._answer(
                        400, SSM_THROTTLE if not target.startswith("DynamoDB_") else THROTTLE
                    )
                if outcome == "conflict":
                    return self._answer(400, CONFLICT)
                if outcome == "internal":
                    return self._answer(500, INTERNAL)
                status, headers, data = forward(
                    proxy.upstream, "POST", self.path, self.headers, body, timeout=10
                )
                if outcome == "lost":
                    return self._drop()
                answer(self, status, headers, data)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            # A herd connects at once: the default backlog of 5 drops connections, and the
            # function's clients give a connection 1 s (a dropped SYN is resent after 1 s).
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_operations(self, *operations, how="refuse", times=None, matching=None):
        """Fails later requests for these operations (`PutItem`, `UpdateItem`,
        `TransactWriteItems`, ...) in the way `how` says, every one or the next `times`
        (counted per operation); with `matching`, only requests whose body contains that
        text (e.g. "ADD failures" for the failure count, not the admission); other
        requests are forwarded."""
        if how not in HOWS:
            raise ValueError(f"how must be one of {HOWS}")
        with self.lock:
            for op in operations:
                self.failing[operation(op)] = [how, times, matching.encode() if matching else None]

    def limit_rate(self, op, per_second, burst=1):
        """At most `per_second` requests a second for `op`, evenly (a burst of `burst`);
        the rest throttled."""
        with self.lock:
            self.buckets[op] = [float(burst), float(per_second), time.monotonic(), float(burst)]

    def release(self):
        """Lets held requests (and any later ones) through."""
        self.released.set()

    def heal(self):
        """Forwards everything again."""
        with self.lock:
            self.failing.clear()
            self.mode = "pass"

    def mark(self):
        """The index of the next request, to look at one invocation's requests."""
        with self.lock:
            return len(self.requests)

    def since(self, mark):
        with self.lock:
            return list(self.requests[mark:])

    def operations(self, mark=0, end=None, op=None):
        """The SDK calls among `since(mark, end)` (only `op`'s, if given), in the order of
        their first attempt: [(operation, [outcome of each attempt], [body of each])]."""
        with self.lock:
            requests = self.requests[mark:end]
            ids = self.invocations[mark:end]
        calls = {}
        for (name, body, outcome), call in zip(requests, ids, strict=True):
            if op is None or name == operation(op):
                entry = calls.setdefault(call, (name, [], []))
                entry[1].append(outcome)
                entry[2].append(body)
        return list(calls.values())

    def wait_for(self, op, outcome=None, since=0, timeout=30.0):
        """Waits until a request for `op` (with `outcome`, if given) has arrived since
        `since`; returns whether one did within `timeout` seconds."""

        def seen():
            return any(
                name == operation(op) and outcome in (None, o)
                for name, _, o in self.requests[since:]
            )

        with self.arrived:
            return self.arrived.wait_for(seen, timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
