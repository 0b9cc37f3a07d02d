"""IAM by evaluation (issue 20): moto enforces actions but never matches a resource, so a
role naming the wrong table would pass every other test. Here every AWS call the run made
is judged as IAM would judge it on a deployed stack: the moto servers recorded each one
(tests/support/call_log.py, on while MOTO_CALL_LOG names a file: scripts/test.sh sets it), with
the process that made it; tests/support/iam_eval.py turns each into the requests IAM authorizes
and evaluates them against the policy of its principal in template.yaml's default
deployment (iam_policies.py): AuthorizeAppFunction's and TokenAuthorizerFunction's roles,
and OperatorPolicy for the admin CLI. Local tables and parameters map to the template's by
role (iam_eval.Names).

Every call must be allowed, and every statement used by some call (a statement granting
only what Lambda itself does, its logs and traces, excepted). This module sorts last so
that it sees the whole run; when only part of the suite ran, the statements are not
required to be used. The table is printed (with -s) and written to
.local/iam-eval-table.md. tests/e2e/test_iam.py still proves each action necessary."""

import functools
import glob
import os

import pytest

import iam_eval
import iam_policies
from conftest import ROOT, require, resources

TABLE = os.path.join(ROOT, ".local", "iam-eval-table.md")


@functools.cache
def evaluated():
    lines = iam_eval.read(require("MOTO_CALL_LOG"))
    return iam_policies.evaluation(lines, resources())


@pytest.fixture(scope="module")
def evaluation():
    return evaluated()[0]


@pytest.fixture(scope="module")
def whole_suite(request):
    """Whether every e2e module ran in this session (each had a test collected)."""
    here = os.path.dirname(os.path.abspath(__file__))
    ran = {os.path.abspath(str(item.path)) for item in request.session.items}
    return all(path in ran for path in glob.glob(os.path.join(here, "test_*.py")))


def detail(calls):
    return "\n".join(
        f"  {c.principal}: {c.action} on {c.arn} (local {', '.join(sorted(c.names)[:4])}; "
        f"{c.count} requests"
        + (f", failed here {dict(c.failed)}" if c.failed else "")
        + (f"; {'; '.join(c.decision.unknown)}" if c.decision.unknown else "")
        + (f"; denied by {c.decision.denied_by}" if c.decision.denied_by else "")
        + ")"
        for c in sorted(calls, key=lambda c: (c.principal, c.action, c.arn))
    )


def test_the_table_is_written(evaluation, whole_suite):
    holders = evaluated()[1]
    title = (
        "IAM by evaluation: the run's recorded AWS calls against template.yaml "
        f"(defaults; {', '.join(f'{p}: {h}' for p, h in holders.items())})"
        + ("" if whole_suite else " -- part of the e2e suite only")
    )
    text = evaluation.markdown(title)
    os.makedirs(os.path.dirname(TABLE), exist_ok=True)
    with open(TABLE, "w") as f:
        f.write(text)
    print("\n" + text)
    assert sum(evaluation.lines.values()), "nothing was recorded: is moto's MOTO_CALL_LOG on?"


def test_each_principal_was_seen(evaluation, whole_suite):
    """The attribution works: each principal made calls (all three when the whole suite
    ran), and few calls are left unattributed."""
    seen = {p for p in evaluation.policies if evaluation.lines[p]}
    if whole_suite:
        missing = set(evaluation.policies) - seen
        assert not missing, f"no recorded call of {missing}"
    assert seen or not whole_suite
    rust = sum(n for p, n in evaluation.lines.items() if p != iam_eval.HARNESS)
    assert evaluation.lines[iam_eval.UNATTRIBUTED] <= rust / 4, (
        f"{evaluation.lines[iam_eval.UNATTRIBUTED]} of {rust} Rust SDK calls are unattributed"
    )


def test_every_call_is_allowed(evaluation):
    denied, unknown = evaluation.denied(), evaluation.unknown()
    message = []
    if denied:
        message.append(
            "IAM would refuse these calls of the run on a deployed stack:\n" + detail(denied)
        )
    if unknown:
        message.append(
            "these calls depend on a condition the recording cannot evaluate:\n" + detail(unknown)
        )
    assert not message, "\n".join(message)


def test_every_statement_is_used(evaluation, whole_suite):
    if not whole_suite:
        pytest.skip("part of the e2e suite ran: a statement may serve a module that did not")
    unused = {p: evaluation.unused(p) for p in evaluation.policies}
    assert not any(unused.values()), "statements no recorded call used:\n" + "\n".join(
        f"  {p}: {evaluation.describe(s)}" for p, found in unused.items() for s in found
    )
