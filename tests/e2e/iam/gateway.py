"""The gateway in front of the test's moto: IAM's rule for transactions, which moto lacks.

moto checks a transaction as one action, `dynamodb:TransactWriteItems`, which IAM does
not have: AWS authorizes each item of it as its own action (PutItem, UpdateItem,
DeleteItem, ConditionCheckItem; "Using IAM with DynamoDB transactions" in the DynamoDB
guide). So the restricted users' DynamoDB and SSM requests go through this gateway, which
applies that rule to TransactWriteItems, forwards every request unchanged (moto checks
the rest) and records every refusal; and every user also holds
`dynamodb:TransactWriteItems`, only so that moto lets through what the gateway allowed.
"""

import http.server
import json
import sys
import threading

from http_relay import answer, forward

# The moto artefact every user holds besides its actions.
MOTO_TRANSACTION_ACTION = "dynamodb:TransactWriteItems"
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def access_key_of(headers):
    auth = headers.get("Authorization", "")
    return auth.partition("Credential=")[2].partition("/")[0]


class Seen:
    """One request through the gateway: who sent it, the operation, what became of it
    ("forwarded", "lost", "denied"), and the actions refused (by moto or the gateway)."""

    def __init__(self, key, op, outcome="forwarded", refused=()):
        self.key, self.op, self.outcome, self.refused = key, op, outcome, set(refused)


def _denial(seen):
    """DynamoDB's answer to a transaction with an item the caller may not write."""
    refused = ", ".join(sorted(seen.refused))
    return json.dumps(
        {
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": f"User: {seen.key} is not authorized to perform: {refused} "
            "(in TransactWriteItems)",
        }
    ).encode()


def _refused_action(data):
    """The action a 403 of moto's names; moto refuses in XML: "User: arn:... is not
    authorized to perform: X"."""
    text = data.decode("utf-8", "replace")
    return text.partition("not authorized to perform: ")[2].partition("<")[0] or text[:200]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A caller that stopped waiting (a function answering 503 while a read it no
        # longer needs is in flight) closes its connection: nothing to report.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _handler(gateway):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = gateway.decide(
                access_key_of(self.headers),
                self.headers.get("X-Amz-Target", "").rpartition(".")[2],
                body,
            )
            if seen.outcome == "denied":
                answer(self, 400, [("Content-Type", "application/x-amz-json-1.0")], _denial(seen))
                return
            # The Host header stays: the caller signed it, and moto checks signatures.
            status, headers, data = forward(
                gateway.upstream, "POST", self.path, self.headers, body, timeout=10, host=False
            )
            if status == 403:
                gateway.refused(seen, _refused_action(data))
            if seen.outcome == "lost":
                self.close_connection = True
                self.connection.close()
                return
            answer(self, status, headers, data)

    return Handler


class Gateway:
    """The restricted users' DynamoDB and SSM requests, forwarded to moto unchanged (the
    Host header too: moto checks each request's signature, which covers it), and what
    became of each. A TransactWriteItems is first authorized as AWS does, each item by
    its own action, from `held` (access key -> actions); moto then checks the rest.
    `lose(op)` forwards the next request for `op` and drops its answer: fault_proxy.py's
    how="lost", which cannot serve here because it rewrites the Host header, so moto
    refuses every signature it forwards."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.held = {}
        self.losing = {}
        self.seen = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def decide(self, key, op, body):
        with self.lock:
            seen = Seen(key, op)
            if op == "TransactWriteItems" and key in self.held:
                items = json.loads(body).get("TransactItems", [])
                needed = {TRANSACTION_ITEM_ACTIONS[kind] for item in items for kind in item}
                seen.refused = needed - self.held[key]
                if seen.refused:
                    seen.outcome = "denied"
            if seen.outcome == "forwarded" and self.losing.get(op, 0) > 0:
                self.losing[op] -= 1
                seen.outcome = "lost"
            self.seen.append(seen)
            return seen

    def refused(self, seen, action):
        """moto refused `action` to the request `seen`."""
        with self.lock:
            seen.refused.add(action)

    def since(self, mark, key):
        """The requests of `key` from index `mark` on."""
        with self.lock:
            return [s for s in self.seen[mark:] if s.key == key]

    def lose(self, op, times=1):
        with self.lock:
            self.losing[op] = times

    def heal(self):
        with self.lock:
            self.losing.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
