#!/usr/bin/env python3
"""An HTTP proxy on 127.0.0.1 in front of moto that can fail on demand, to test how the
function behaves when AWS does: unreachable, throttling, or a token write whose condition
fails. Tests point the function's AWS_ENDPOINT_URL_DYNAMODB / _SSM at it.

Modes (set `proxy.mode`):
  pass        forward everything
  refuse      close every connection without answering (AWS unreachable)
  throttle    answer DynamoDB's ProvisionedThroughputExceededException (HTTP 400)
  conflict    answer ConditionalCheckFailedException to the next `conflicts` PutItem calls
"""

import http.client
import http.server
import json
import threading
from urllib.parse import urlsplit

THROTTLE = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "Rate of requests exceeds the allowed throughput."}
CONFLICT = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed"}


class FaultProxy:
    def __init__(self, upstream):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)
        self.mode = "pass"
        self.conflicts = 0
        self.calls = []  # X-Amz-Target (DynamoDB) or "ssm" of every request seen
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

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                proxy.calls.append(target)
                if proxy.mode == "refuse":
                    self.close_connection = True
                    self.connection.close()
                    return
                if proxy.mode == "throttle" and target.startswith("DynamoDB_"):
                    return self._answer(400, THROTTLE)
                if (proxy.mode == "conflict" and target.endswith(".PutItem")
                        and proxy.conflicts > 0):
                    proxy.conflicts -= 1
                    return self._answer(400, CONFLICT)
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = "%s:%d" % proxy.upstream
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
