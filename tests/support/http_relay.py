"""The two halves of relaying one HTTP request, shared by the local proxies in front of
moto (fault_proxy.py, tls_terminator.py, the IAM test's gateway): send it on, and answer
the caller with what came back."""

import http.client
import http.server
import socket

# Hop-by-hop headers: each side of a relay sets its own.
HOP = ("content-length", "transfer-encoding", "connection", "keep-alive")


def forward(upstream, method, path, headers, body, timeout=30, host=True):
    """Sends the request to `upstream` (host, port); returns (status, headers, body).
    With `host`, the Host header is rewritten to name the upstream; pass False to keep the
    caller's, where moto checks the caller's signature (which covers Host)."""
    sent = {k: v for k, v in headers.items() if k.lower() not in HOP + (("host",) if host else ())}
    if host:
        sent["Host"] = f"{upstream[0]}:{upstream[1]}"
    conn = http.client.HTTPConnection(*upstream, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def answer(handler, status, headers, data):
    """Writes the answer on a `BaseHTTPRequestHandler`, with its own Content-Length."""
    handler.send_response(status)
    for k, v in headers:
        if k.lower() not in HOP:
            handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class KeptAliveHandler(http.server.BaseHTTPRequestHandler):
    """The local servers' handler base: HTTP/1.1 kept alive, silent, and TCP_NODELAY. An
    answer goes out as two writes (headers, then body): without TCP_NODELAY, Nagle's
    algorithm holds the second until the client's delayed ACK, up to 40 ms, now and then."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
