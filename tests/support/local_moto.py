#!/usr/bin/env python3
"""Starts a private moto_server on 127.0.0.1, for tests and `make bench`.

moto_server cannot be handed a bound socket, so a port found free can be taken before moto
binds it (moto needs a second or two to import). Instead of trusting a free-port lookup,
`start()` waits until *its own* process answers `/moto-api/`; when that process dies
(address in use) it tries again, on a new port or, when the port is fixed (a restart that
the function's endpoint depends on), on the same one.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

# moto with atomic DynamoDB item operations, as on AWS (tests/support/moto_server.py).
MOTO_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_server.py")


class MotoDidNotStart(RuntimeError):
    pass


def _pick_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(pid, port):
    """Whether process `pid` itself holds the listening socket on `port` (Linux /proc);
    None when that cannot be told."""
    import os

    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and int(local.split(":")[1], 16) == port and inode in inodes:
                    return True
        return False
    except OSError:
        return None


def _answers(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


def start(port=None, attempts=5, timeout=30.0, env=None):
    """Starts moto; returns (process, port). The process is its own session leader, so
    `os.killpg(proc.pid, ...)` stops it whole. `env`: extra environment variables for
    moto (e.g. INITIAL_NO_AUTH_ACTION_COUNT, which turns on its IAM checks)."""
    last = None
    for _ in range(attempts):
        chosen = port or _pick_port()
        proc = subprocess.Popen(
            [sys.executable, MOTO_SERVER, "-H", "127.0.0.1", "-p", str(chosen)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=dict(os.environ, **env) if env else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                last = proc.stderr.read().decode("utf-8", "replace")[-500:]
                break
            # Only our process counts: another server on a port taken in between must not
            # pass for our moto.
            if _answers(chosen) and _listening(proc.pid, chosen) is not False:
                proc.stderr.close()
                return proc, chosen
            time.sleep(0.1)
        else:
            proc.kill()
            proc.wait()
            raise MotoDidNotStart(f"moto on port {chosen} did not answer in {timeout} s")
        time.sleep(0.2)
    raise MotoDidNotStart(f"moto did not start after {attempts} attempts: {last}")
