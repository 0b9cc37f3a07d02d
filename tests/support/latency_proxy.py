#!/usr/bin/env python3
"""A reverse proxy in front of moto that makes every AWS call cost a fixed delay, as an
in-region DynamoDB call does (default 4 ms), so that `make bench` sees the function's round
trips the way AWS prices them rather than the way the local moto does.

Calls that overlap, overlap here too: each client connection is served on its own thread
(kept alive, as AWS's endpoints keep them), waits its delay there, and forwards over a
persistent connection of its own to moto. Every call is recorded as (start, end, target,
connection) in time.monotonic() seconds, so the bench can tell for one invocation how many
calls it made, in how many sequential rounds (`rounds`), and how long it waited on AWS
(`busy_ms`, overlapping calls counted once).

    with LatencyProxy("127.0.0.1", moto_port) as proxy:
        env = dict(env, AWS_ENDPOINT_URL=proxy.url)
        mark = proxy.mark()
        ...                               # one invocation
        calls = proxy.calls_since(mark)

The Host header is passed on unchanged: moto checks the caller's signature, which covers it.
"""

import http.client
import http.server
import itertools
import threading
import time
from typing import NamedTuple

from http_relay import HOP, KeptAliveHandler, answer


class Call(NamedTuple):
    start: float
    end: float
    target: str  # e.g. DynamoDB_20120810.GetItem, AmazonSSM.GetParameter
    connection: int  # which client connection carried it


def rounds(calls):
    """Sequential rounds of `calls`: a call starts a new round when it starts after every
    earlier call has ended (it could not have been sent beside them)."""
    count, ended = 0, None
    for call in sorted(calls):
        if ended is None or call.start >= ended:
            count += 1
            ended = call.end
        else:
            ended = max(ended, call.end)
    return count


def busy_ms(calls):
    """The time (ms) at least one of `calls` was in flight: the union of their intervals."""
    total, start, end = 0.0, None, None
    for call in sorted(calls):
        if end is None or call.start > end:
            if end is not None:
                total += end - start
            start, end = call.start, call.end
        else:
            end = max(end, call.end)
    if end is not None:
        total += end - start
    return total * 1000


class LatencyProxy:
    """Accepts HTTP/1.1 on an ephemeral port of 127.0.0.1 and forwards each request to
    `upstream_host:upstream_port` after `delay_ms`."""

    def __init__(self, upstream_host, upstream_port, delay_ms=4.0):
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay_ms / 1000
        self.calls = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        proxy = self

        class Handler(KeptAliveHandler):
            def setup(self):
                self.connection_id = next(proxy._ids)
                self.upstream = None
                super().setup()

            def finish(self):
                super().finish()
                if self.upstream is not None:
                    self.upstream.close()

            def _send_upstream(self, body):
                sent = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                # moto may close a connection between two calls: one retry on a fresh one.
                for attempt in (1, 2):
                    if self.upstream is None:
                        self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                    try:
                        self.upstream.request(self.command, self.path, body=body, headers=sent)
                        resp = self.upstream.getresponse()
                        return resp.status, resp.getheaders(), resp.read()
                    except (http.client.RemoteDisconnected, ConnectionError):
                        self.upstream.close()
                        self.upstream = None
                        if attempt == 2:
                            raise
                return None  # not reached

            def _forward(self):
                start = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(proxy.delay)
                status, headers, data = self._send_upstream(body)
                target = self.headers.get("X-Amz-Target") or _query_action(body, self.path)
                # Recorded before the answer goes out, so a call is on the list by the time
                # the function can have answered its invocation.
                with proxy._lock:
                    proxy.calls.append(Call(start, time.monotonic(), target, self.connection_id))
                answer(self, status, headers, data)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client gone mid-connection (a function killed after its answer)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def mark(self):
        """Where the calls made from now on will start, for `calls_since`."""
        with self._lock:
            return len(self.calls)

    def calls_since(self, mark):
        with self._lock:
            return self.calls[mark:]

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def _query_action(body, path):
    """The Action of a query-protocol call (form body or query string), else the path."""
    for part in (body or b"").decode("utf-8", "replace").split("&") + path.split("?")[-1:]:
        if part.startswith("Action="):
            return part[len("Action=") :]
    return path


if __name__ == "__main__":
    # `latency_proxy.py MOTO_PORT [DELAY_MS]`: a proxy of its own process, printing its URL,
    # for the bench's load run, whose own threads would otherwise share one GIL with it.
    import sys

    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    proxy = LatencyProxy("127.0.0.1", int(sys.argv[1]), delay)
    print(proxy.url, flush=True)
    sys.stdin.read()  # serves until the bench closes our standard input
