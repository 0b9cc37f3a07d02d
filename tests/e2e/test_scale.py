"""A herd of new instances at once, against Parameter Store's default quota of 40
GetParameter calls a second (tools/fault_proxy.py throttles above it): every instance must
answer its first request with a token. `HERD_N` sets the herd's size: 60 in `make test`,
which keeps the 2-core machine out of its own way; docs/performance.md reports 100 and 150."""

import os
import statistics
from collections import Counter

import bcrypt
import pytest

from conftest import basic, v2_event
from fault_proxy import FaultProxy
from fleet import Fleet
from test_concurrency import FORM, own_env, run

SSM_QUOTA = 40  # GetParameter calls a second, Parameter Store's default


@pytest.fixture
def herd_env():
    return own_env("herd")


# 40: the default quota, evenly spaced (no burst). 20 makes the same herd meet twice the
# throttling, as a herd of 1,000 meets 40.
@pytest.mark.parametrize("quota", [SSM_QUOTA, 20])
def test_a_herd_of_new_instances_all_get_tokens(herd_env, quota):
    n = int(os.environ.get("HERD_N", "60"))
    # One user per instance (one verification per name at a time), imported in one go.
    salt = bcrypt.gensalt(rounds=4)
    users = [f"herd-{i}" for i in range(n)]
    hashed = bcrypt.hashpw(b"herd password", salt).decode()
    run(herd_env, "user", "import-quay", "--max-bcrypt-cost", "4",
        stdin="".join(f"{u},{hashed}\n" for u in users))
    ssm = FaultProxy(os.environ["AWS_ENDPOINT_URL"])
    ssm.limit_rate("AmazonSSM.GetParameter", quota)
    env = dict(herd_env, AWS_ENDPOINT_URL_SSM=ssm.url)
    try:
        with Fleet(n, env) as fleet:
            # Every instance is new: its first request reads the whitelist.
            answers = fleet.fire([v2_event(FORM, basic(u, "herd password")) for u in users])
        outcomes = Counter(o for op, _, o in ssm.requests if op == "AmazonSSM.GetParameter")
    finally:
        ssm.close()
    seen = Counter(a[0] for a in answers)
    times = sorted(a[3] * 1000 for a in answers if a[3] is not None)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else float("nan")
    print(f"\nherd N={n}, quota {quota}/s: 302 {seen[302]}, 5xx {sum(v for k, v in seen.items() if k and k >= 500)}, "
          f"other {dict(seen)}; first answer p50 {statistics.median(times):.0f} ms, "
          f"p99 {p99:.0f} ms; SSM GetParameter passed {outcomes['forwarded']}, "
          f"throttled {outcomes['throttle']}")
    assert seen == {302: n}, seen
    # One read per instance, and a few more where an attempt timed out under the load.
    assert outcomes["forwarded"] >= n
