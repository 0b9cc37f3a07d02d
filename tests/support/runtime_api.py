#!/usr/bin/env python3
"""A Lambda Runtime API on 127.0.0.1, enough to run a `provided.al2023` binary by hand.

Implements `GET /2018-06-01/runtime/invocation/next` and the response / error posts, so
tests and benchmarks can start the real binary, hand it events and read its answers
without Docker. Used by tests/e2e and by `make bench`.
"""

import http.server
import json
import os
import queue
import subprocess
import threading
import time
import uuid

from http_relay import KeptAliveHandler

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    def __init__(self):
        self.events = queue.Queue()
        self.results = {}
        self.done = threading.Condition()
        # When the function first asked for an event: the end of its init phase.
        self.ready_at = None
        api = self

        # TCP_NODELAY: without it an event's body waited for the function's delayed ACK,
        # up to 40 ms, now and then (seen as warm requests slower than cold ones).
        class Handler(KeptAliveHandler):
            def _reply(self, code, body=b"{}", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404)
                if api.ready_at is None:
                    api.ready_at = time.monotonic()
                request_id, event = api.events.get()
                self._reply(
                    200,
                    json.dumps(event).encode(),
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                        "Lambda-Runtime-Invoked-Function-Arn": (
                            "arn:aws:lambda:us-east-1:123456789012:function:authorize-app"
                        ),
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                    },
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if parts[0] == "invocation" and len(parts) == 3:
                    with api.done:
                        api.results[parts[1]] = (parts[2], body, time.monotonic())
                        api.done.notify_all()
                elif parts[:2] == ["init", "error"]:
                    with api.done:
                        api.results["init"] = ("error", body, time.monotonic())
                        api.done.notify_all()
                self._reply(202)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A function killed while it waits for its next event resets its connection.
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=30):
        """Queues an event; returns (kind, parsed body, monotonic time received)."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        deadline = time.monotonic() + timeout
        with self.done:
            while request_id not in self.results and "init" not in self.results:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer from the function")
                self.done.wait(left)
            kind, body, at = self.results.pop(request_id, None) or self.results["init"]
        return kind, json.loads(body or b"null"), at

    def start_function(self, binary, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
        """Starts `binary`: a path, or a command as a list (an interpreter and its script,
        as the bench's Python peer runs)."""
        command = list(binary) if isinstance(binary, list | tuple) else [binary]
        full_env = dict(env)
        full_env.update(
            AWS_LAMBDA_RUNTIME_API=self.address,
            AWS_LAMBDA_FUNCTION_NAME="authorize-app",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        )
        # The binary in its AWS SDK's User-Agent (app/NAME), which relays pass on: how a
        # recording moto tells the principals apart (tests/support/call_log.py).
        full_env.setdefault("AWS_SDK_UA_APP_ID", os.path.basename(command[-1]))
        return subprocess.Popen(command, env=full_env, stdout=stdout, stderr=stderr)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    import sys

    api = RuntimeApi()
    proc = api.start_function(sys.argv[1], os.environ, stdout=None, stderr=None)
    with open(sys.argv[2]) as f:
        event = json.load(f)
    print(json.dumps(api.invoke(event)[:2], indent=2))
    proc.kill()
