"""An HTTP front door for a function the tests start on a local Runtime API (conftest's
`Function`): each browser request becomes an API Gateway HTTP API (v2) event, as the
deployed HTTP API sends it, and the function's answer goes back as the HTTP response. So a
real browser can walk the pages of a function started with its own environment (another
directory, say) without a second `cargo lambda watch`."""

import base64
import http.server
import threading
from urllib.parse import urlsplit


def event_of(method, target, headers, body):
    """The v2 event API Gateway sends for this request."""
    url = urlsplit(target)
    cookies = [c.strip() for v in headers.get_all("Cookie") or [] for c in v.split(";")]
    lowered = {k.lower(): v for k, v in headers.items() if k.lower() != "cookie"}
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "http": {
                "method": method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": "front-door",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    if cookies:
        event["cookies"] = [c for c in cookies if c]
    return event


class FrontDoor:
    """Listens on 127.0.0.1 (its `url`); `serve(function)` starts answering through it."""

    def __init__(self):
        door = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = event_of(self.command, self.path, self.headers, body)
                kind, reply, _ = door.function.api.invoke(event)
                assert kind == "response", reply
                self.send_response(reply["statusCode"])
                for name, value in (reply.get("headers") or {}).items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                # A v2 answer's cookies come apart from its headers.
                for cookie in reply.get("cookies") or []:
                    self.send_header("Set-Cookie", cookie)
                data = (reply.get("body") or "").encode()
                if reply.get("isBase64Encoded"):
                    data = base64.b64decode(data)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.function = None

    def serve(self, function):
        self.function = function
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
