#!/usr/bin/env python3
"""Many instances of the real function at once, as Lambda runs them: one process per
instance, each on its own local Runtime API (tests/support/runtime_api.py), one request at a time
each. Shared by the concurrency tests (tests/e2e/test_concurrency.py) and the herd test.

    with Fleet(n, env) as fleet:
        fleet.warm(event)                 # optional: every instance answers one request
        answers = fleet.fire(events)      # one event per instance, released together

Each answer is (status, headers, body, seconds from release to answer). `fleet.logs()`
gives every instance's JSON log lines.
"""

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time

from runtime_api import RuntimeApi

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Instance:
    def __init__(self, env, binary):
        self.api = RuntimeApi()
        # A file, not a pipe: a chatty function must never block on a full pipe. It lives as
        # long as the instance (closed when it stops), so no `with`.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = self.api.start_function(binary, env, stdout=self.log, stderr=subprocess.STDOUT)

    def invoke(self, event, timeout=60):
        kind, reply, at = self.api.invoke(event, timeout=timeout)
        if kind != "response" or not isinstance(reply, dict):
            return None, {}, reply, at
        headers = {k.lower(): v for k, v in (reply.get("headers") or {}).items()}
        return reply.get("statusCode"), headers, reply.get("body") or "", at

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.api.close()
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace")
        self.log.close()
        return text


class Fleet:
    def __init__(self, n, env=None, binary=None):
        self.env = dict(os.environ if env is None else env)
        self.binary = binary or os.path.join(ROOT, "target", "debug", "authorize-app")
        self.instances = [Instance(self.env, self.binary) for _ in range(n)]
        self._logs = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.stop()

    def _all(self, events):
        """Hands events[i] to instance i, all released at one moment; waits for every answer."""
        assert len(events) <= len(self.instances)
        answers = [None] * len(events)
        ready = threading.Barrier(len(events) + 1)
        released = [0.0]

        def run(i):
            ready.wait()
            try:
                status, headers, body, at = self.instances[i].invoke(events[i])
                answers[i] = (status, headers, body, at - released[0])
            except Exception as e:  # a dead instance or a timeout is an answer too
                answers[i] = (None, {}, repr(e), None)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(events))]
        for t in threads:
            t.start()
        released[0] = time.monotonic()
        ready.wait()
        for t in threads:
            t.join()
        return answers

    def warm(self, event):
        """Every instance answers `event` once (its cold start), so `fire` meets warm ones."""
        return self._all([event] * len(self.instances))

    def fire(self, events):
        return self._all(list(events))

    def stop(self):
        if self._logs is None:
            self._logs = [i.stop() for i in self.instances]
        return self._logs

    def logs(self):
        """Every JSON log line of every instance (stops the fleet)."""
        lines = []
        for text in self.stop():
            for line in text.splitlines():
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        lines.append(json.loads(line))
        return lines
