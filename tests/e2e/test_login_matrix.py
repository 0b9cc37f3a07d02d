"""Logins for one name. A CI matrix: many jobs log in as one service account at the same
moment, each on an instance of its own. One password is verified per name at a time; a right
login that finds another attempt verifying waits its turn within its request instead of being
refused, while a burst of wrong passwords still meets the back-off window at once. And a
probe: the back-off must not tell whether a name was used."""

import os
from collections import Counter

from conftest import basic, v2_event, wait_out_back_off
from fleet import Fleet

# `env` is test_concurrency's fixture: tables of the test's own, where fresh_user adds.
from test_concurrency import FORM, WARM_UP, env, fresh_user  # noqa: F401 (env: a fixture)

JOBS = int(os.environ.get("MATRIX_N", "20"))


def test_a_matrix_of_right_logins_for_one_name_all_get_tokens(env):
    """Before: 1 × 302 and 19 × 429 in 0.1 s (only one login per name was verified at a
    time, and the others were refused)."""
    name, password = fresh_user()
    with Fleet(JOBS, env) as fleet:
        fleet.warm(WARM_UP)
        answers = fleet.fire([v2_event(FORM, basic(name, password))] * JOBS)
        lines = fleet.logs()
    seen = Counter(a[0] for a in answers)
    last = max(a[3] for a in answers if a[3] is not None)
    waited = [line.get("total_ms", 0) for line in lines if line.get("event") == "token_issued"]
    print(
        f"\nmatrix: {JOBS} right logins for one name at once: {dict(seen)}, the last "
        f"answered after {last:.2f} s; request time (ms) of the tokens' lines: median "
        f"{sorted(waited)[len(waited) // 2] if waited else 'n/a'}, max "
        f"{max(waited) if waited else 'n/a'}"
    )
    assert seen == {302: JOBS}, seen

    # The same run, wrong passwords at once on another name: the first verification
    # fails and opens the back-off window, which the others meet without a verification.
    wrong, _ = fresh_user()
    with Fleet(JOBS, env) as fleet:
        fleet.warm(WARM_UP)
        answers = fleet.fire([v2_event(FORM, basic(wrong, "not it"))] * JOBS)
    seen = Counter(a[0] for a in answers)
    print(
        f"burst: {JOBS} wrong passwords for one name at once: verified (401) {seen[401]}, "
        f"refused (429) {seen[429]}"
    )
    assert 1 <= seen[401] <= 2 and seen[401] + seen[429] == JOBS, seen


def test_a_probe_of_two_names_cannot_tell_the_one_that_was_used(post, make_user, dynamodb, tables):
    """A prober guesses wrong for two names, the owner of one logs in meanwhile, and the
    prober guesses again: the answers for both names are the same (status, Retry-After,
    body). Before, only a verified password reset a name's count, so the used name's next
    window was the first one again (Retry-After: 1) while the other's had grown."""
    (used, password), (idle, _) = make_user(), make_user()
    names = (used, idle)

    def guess_both():
        return {n: post(FORM, auth=basic(n, "a wrong guess")) for n in names}

    def wait_out_both():
        for n in names:
            wait_out_back_off(dynamodb, tables, n)

    for _ in range(2):
        assert {r.status for r in guess_both().values()} == {401}
        wait_out_both()
    assert post(FORM, auth=basic(used, password)).status == 302, "the owner logs in"
    answers = {}
    for step in ("verified", "held back"):
        replies = guess_both()
        answers[step] = {n: (r.status, r.header("retry-after"), r.body) for n, r in replies.items()}
    print(f"\nprobe of two names, one used meanwhile: {answers}")
    for step, seen in answers.items():
        assert seen[used] == seen[idle], (step, seen)
    assert answers["held back"][used][0] == 429, "the second guess meets the window"
