"""Cold starts over plain HTTP and over TLS, as on AWS, each split into start-up, AWS
round trips, password hashing and the rest."""

import statistics

from tls_terminator import TlsTerminator

from .events import event
from .timing import cold_split


def _splits(fn, env, moto_port, runs):
    """{"plain HTTP": [split], "TLS": [split]}, interleaved, and the TLS handshakes of each
    TLS cold start. moto is behind a local terminator with a throw-away CA, trusted through
    SSL_CERT_FILE."""
    splits = {"plain HTTP": [], "TLS": []}
    handshakes = []
    with TlsTerminator("127.0.0.1", moto_port) as tls:
        # Both trust the one throw-away CA, so the difference is TLS alone, not the loading
        # of a larger certificate store.
        env = dict(env, SSL_CERT_FILE=tls.ca_file)
        tls_env = dict(env, AWS_ENDPOINT_URL=tls.url)
        for i in range(runs):
            splits["plain HTTP"].append(cold_split(fn, env, event(), f"cold 302 plain #{i}"))
            before = tls.handshakes
            splits["TLS"].append(cold_split(fn, tls_env, event(), f"cold 302 TLS #{i}"))
            handshakes.append(tls.handshakes - before)
    return splits, handshakes


def tls_rows(plan, stack):
    splits, handshakes = _splits(plan.binary("authorize-app"), stack.env, stack.port, plan.runs)
    rows, medians = [], {}
    for kind, runs in splits.items():
        m = medians[kind] = {part: statistics.median(r[part] for r in runs) for part in runs[0]}
        rows.append(
            (
                f"cold start 302, {kind} (median of {plan.runs}): start-up + request",
                "",
                f"{m['total']:.1f} ms = {m['startup']:.1f} + {m['request']:.1f}",
            )
        )
        rows.append(
            (
                f"  of the request, {kind}: AWS round trips / password hashing / rest",
                "",
                f"{m['aws']:.1f} / {m['hashing']:.1f} / "
                f"{m['request'] - m['aws'] - m['hashing']:.1f} ms",
            )
        )
    rows.append(
        (
            "what TLS adds to a cold start (median difference)",
            "",
            f"{medians['TLS']['total'] - medians['plain HTTP']['total']:.1f} ms",
        )
    )
    rows.append(
        (
            "TLS connections opened by a cold 302 (SSM + DynamoDB)",
            "",
            ",".join(str(h) for h in sorted(set(handshakes))),
        )
    )
    return rows
