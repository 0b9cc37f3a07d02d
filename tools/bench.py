#!/usr/bin/env python3
"""`make bench`: the performance figures of issue 5 (and the enumeration timing of the
hardening issue), measured on this machine, printed as one table.

Needs: release binaries (scripts/bench.sh builds them), moto (started here), and for the
zip size `make package`. Loopback only.
"""

import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from runtime_api import RuntimeApi  # noqa: E402

RELEASE = os.path.join(ROOT, "target", "release")
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "20"))
LOGIN_RUNS = int(os.environ.get("BENCH_LOGIN_RUNS", "200"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(door="apigw-http-v2", scenario="success"):
    with open(os.path.join(ROOT, "events", door, scenario + ".json")) as f:
        return json.load(f)


def with_auth(e, user, password):
    e = json.loads(json.dumps(e))
    e["headers"]["authorization"] = "Basic " + base64.b64encode(
        f"{user}:{password}".encode()).decode()
    return e


def admin(env, *args, stdin=None):
    subprocess.run([os.path.join(RELEASE, "direct-oauth-admin"), *args], env=env, input=stdin,
                   text=True, check=True, capture_output=True)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cold_start(binary, env, ev):
    """Process start -> first response received, and peak RSS then."""
    api = RuntimeApi()
    log = open(os.devnull, "w")
    start = time.monotonic()
    proc = api.start_function(binary, env, stdout=log, stderr=log)
    kind, reply, at = api.invoke(ev)
    rss = peak_rss_kib(proc.pid)
    proc.kill()
    proc.wait()
    api.close()
    assert kind == "response", reply
    return (at - start) * 1000, rss, reply


def warm_latency(binary, env, ev, runs=30, skip=3):
    """Median invocation -> response time on one process, after `skip` warm-up requests."""
    api = RuntimeApi()
    proc = api.start_function(binary, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    for i in range(skip + runs):
        t0 = time.monotonic()
        kind, reply, at = api.invoke(ev)
        assert kind == "response", reply
        if i >= skip:
            times.append((at - t0) * 1000)
    proc.kill()
    proc.wait()
    api.close()
    return statistics.median(times)


def request_logs(binary, env, events, pause=0.0):
    """Runs events on one process; returns the per-request JSON log lines."""
    api = RuntimeApi()
    path = os.path.join(ROOT, ".local", "bench-function.log")
    with open(path, "w") as out:
        proc = api.start_function(binary, env, stdout=out, stderr=subprocess.STDOUT)
        for i, ev in enumerate(events):
            if i and pause:
                time.sleep(pause)
            api.invoke(ev)
        proc.kill()
        proc.wait()
    api.close()
    lines = [json.loads(l) for l in open(path) if l.startswith("{")]
    return [l for l in lines if "dynamodb_calls" in l]


def criterion():
    env = dict(os.environ, AWS_LC_SYS_NO_JITTER_ENTROPY="1")
    out = subprocess.run(["cargo", "bench", "--bench", "core", "--", "--noplot"], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    figures = {}
    for name, value, unit in re.findall(r"^(\S+)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]",
                                        out, re.M):
        scale = {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[unit]
        figures[name] = float(value) * scale
    return figures, out


def met(target, value):
    """'yes'/'no' for a row with a numeric target ("<= 2.0x", "0", ...), '' without one."""
    if not target:
        return ""
    want = re.match(r"(<=|within)?\s*([\d.]+)", target)
    got = re.match(r"([\d.]+)", value)
    if not want or not got:
        return ""
    limit, measured = float(want.group(2)), float(got.group(1))
    if want.group(1):
        return "yes" if measured <= limit else "no"
    return "yes" if measured == limit else "no"


def main():
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        aws = dict(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                   AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        os.environ.update(aws)  # for boto3 in this process
        # Lambda sets no certificate-store variables; this machine points SSL_CERT_DIR at a
        # directory that rustls-native-certs would read file by file at start-up.
        env = {k: v for k, v in os.environ.items()
               if k not in ("SSL_CERT_DIR", "SSL_CERT_FILE", "AWS_CA_BUNDLE")}
        env["DIRECT_OAUTH_LOG_LEVEL"] = "info"
        admin(env, "init")
        admin(env, "user", "add", "username", "--password-stdin", stdin="passwordhere\n")
        admin(env, "app", "add", "some_client_id", "--redirect-uri",
              "https://my/internal/application/token_created")
        admin(env, "whitelist", "add", "some_client_id")

        # 1 + 5: cold start and peak RSS.
        fn = os.path.join(RELEASE, "authorize-app")
        hello = os.path.join(RELEASE, "examples", "hello-lambda")
        ours, init_only, base, rss = [], [], [], []
        for _ in range(RUNS):
            ms, kib, reply = cold_start(fn, env, event())
            assert reply["statusCode"] == 302, reply
            ours.append(ms)
            rss.append(kib)
            ms, _, reply = cold_start(fn, env, event(scenario="get"))
            assert reply["statusCode"] == 405, reply
            init_only.append(ms)
            ms, _, _ = cold_start(hello, env, event())
            base.append(ms)
        # This machine's OpenSSL layout makes rustls-native-certs read a hashed directory of
        # 146 certificates on top of the bundle; the same start-up with the bundle alone.
        bundle = next((p for p in ("/etc/ssl/certs/ca-certificates.crt",
                                   "/etc/pki/tls/certs/ca-bundle.crt") if os.path.exists(p)), None)
        one_bundle = []
        if bundle:
            for _ in range(RUNS):
                ms, _, reply = cold_start(fn, dict(env, SSL_CERT_FILE=bundle), event(scenario="get"))
                assert reply["statusCode"] == 405, reply
                one_bundle.append(ms)
        m_ours, m_base = statistics.median(ours), statistics.median(base)
        m_init = statistics.median(init_only)
        w_ours, w_base = warm_latency(fn, env, event()), warm_latency(hello, env, event())
        rows.append(("cold start, hello-world lambda_http (median of %d)" % RUNS, "", f"{m_base:.1f} ms"))
        rows.append(("warm request, hello-world (median of 30)", "", f"{w_base:.1f} ms"))
        rows.append(("cold start, authorize-app, Quay example 302", "", f"{m_ours:.1f} ms"))
        rows.append(("warm request, authorize-app, Quay example 302", "", f"{w_ours:.1f} ms"))
        rows.append(("ratio to hello-world, 302 cold", "<= 2.0x", f"{m_ours / m_base:.2f}x"))
        added, base_added = m_ours - w_ours, max(m_base - w_base, 0.01)
        rows.append(("what being cold adds, 302 (cold - warm) vs hello's", "<= 2.0x",
                     f"{added / base_added:.2f}x ({added:.1f} vs {m_base - w_base:.1f} ms)"))
        rows.append(("cold start, authorize-app, GET 405 (start-up only)", "", f"{m_init:.1f} ms"))
        rows.append(("ratio to hello-world, 405", "<= 2.0x", f"{m_init / m_base:.2f}x"))
        if one_bundle:
            m_one = statistics.median(one_bundle)
            rows.append(("cold start, GET 405, CA bundle file only (SSL_CERT_FILE)", "",
                         f"{m_one:.1f} ms ({m_one / m_base:.2f}x)"))
        # MiB, as Lambda's "Max Memory Used" and its memory sizes count.
        rows.append(("peak RSS, cold start run (max, MiB)", "<= 30", f"{max(rss) / 1024:.1f} MiB "
                     f"({max(rss) * 1024 / 1e6:.1f} MB)"))

        # 2: AWS round trips per request, from the function's own log lines.
        cached = dict(env, DIRECT_OAUTH_WHITELIST_CACHE_SECONDS="1")
        logs = request_logs(fn, cached, [event(), event(), event()], pause=0.6)
        cold, warm, expired = logs[0], logs[1], logs[2]
        rows.append(("DynamoDB round trips, warm success", "<= 2", str(warm["dynamodb_calls"])))
        rows.append(("SSM calls, warm success", "0", str(warm["ssm_calls"])))
        rows.append(("SSM calls, cold start", "1", str(cold["ssm_calls"])))
        rows.append(("SSM calls, after cache expiry", "1", str(expired["ssm_calls"])))

        # The authorizer: cold start, and a warm check's latency and round trips.
        from sample_tokens import write as write_sample_tokens
        write_sample_tokens()
        authz = os.path.join(RELEASE, "token-authorizer")
        valid = event("token-authorizer/http-api-v2", "valid")
        colds = []
        for _ in range(RUNS):
            ms, _, reply = cold_start(authz, env, valid)
            assert reply["isAuthorized"] is True, reply
            colds.append(ms)
        rows.append(("authorizer cold start (median of %d)" % RUNS, "", f"{statistics.median(colds):.1f} ms"))
        api = RuntimeApi()
        path = os.path.join(ROOT, ".local", "bench-authorizer.log")
        with open(path, "w") as out:
            proc = api.start_function(authz, env, stdout=out, stderr=subprocess.STDOUT)
            api.invoke(valid)
            warm = []
            for _ in range(200):
                t0 = time.monotonic()
                _, reply, at = api.invoke(valid)
                warm.append((at - t0) * 1000)
            proc.kill()
            proc.wait()
        api.close()
        calls = {json.loads(l).get("dynamodb_calls") for l in open(path) if '"authorizer"' in l}
        rows.append(("authorizer warm check, moto on loopback (median of 200)", "",
                     f"{statistics.median(warm):.2f} ms"))
        # Every check's log line must say 1; "1" only when they all do.
        seen = ",".join(str(c) for c in sorted(calls, key=str)) or "none logged"
        rows.append(("authorizer DynamoDB round trips per check", "1",
                     "1" if calls == {1} else f"not all 1: {seen}"))

        # Hardening: unknown user vs wrong password, interleaved, release build.
        import boto3
        ddb = boto3.client("dynamodb", endpoint_url=endpoint)
        api = RuntimeApi()
        proc = api.start_function(fn, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times = {"unknown": [], "wrong": []}
        for i in range(LOGIN_RUNS * 2):
            kind = "unknown" if i % 2 else "wrong"
            user = "no-such-user" if kind == "unknown" else "username"
            ddb.delete_item(TableName="direct-oauth-failed-logins",
                            Key={"username": {"S": user}})
            t0 = time.monotonic()
            _, reply, at = api.invoke(with_auth(event(), user, "wrong-password"))
            assert reply["statusCode"] == 401, reply
            times[kind].append((at - t0) * 1000)
        proc.kill()
        proc.wait()
        api.close()
        mu, mw = statistics.median(times["unknown"]), statistics.median(times["wrong"])
        rows.append((f"401 median, unknown user (n={LOGIN_RUNS})", "", f"{mu:.2f} ms"))
        rows.append((f"401 median, wrong password (n={LOGIN_RUNS})", "", f"{mw:.2f} ms"))
        rows.append(("unknown vs wrong password", "within 15%",
                     f"{abs(mu - mw) / mw * 100:.1f}%"))
    finally:
        moto.kill()
        moto.wait()

    # 3 + 4: criterion.
    figures, _ = criterion()
    core = figures.get("pure_core/quay_example_302")
    rows.append(("pure core per request (criterion)", "<= 20 µs", f"{core:.2f} µs"))
    authz_cpu = figures.get("authorizer/check_without_the_read")
    if authz_cpu is not None:
        rows.append(("authorizer CPU per check, without the read", "", f"{authz_cpu:.2f} µs"))
    a = figures.get("password/argon2id_m19456_t2_p1_verify")
    b = figures.get("password/bcrypt_cost12_verify")
    rows.append(("argon2id m=19 MiB t=2 p=1 verify (1 core)", "", f"{a / 1000:.1f} ms"))
    rows.append(("bcrypt cost 12 verify (1 core)", "", f"{b / 1000:.1f} ms"))

    # 5: package size.
    zip_path = os.path.join(ROOT, "target", "lambda", "authorize-app", "bootstrap.zip")
    if os.path.exists(zip_path):
        size = os.path.getsize(zip_path)
        rows.append(("arm64 zip (make package)", "<= 4 MB", f"{size / 1e6:.2f} MB ({size} B)"))
    else:
        rows.append(("arm64 zip (make package)", "<= 4 MB", "not built: run make package"))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure'.ljust(width)}  {'target':<11} {'met':<4} measured")
    for name, target, value in rows:
        print(f"{name.ljust(width)}  {target:<11} {met(target, value):<4} {value}")


if __name__ == "__main__":
    main()
