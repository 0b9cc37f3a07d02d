"""The summary of the IAM tests, one row per principal and removed action, gathered as
the tests run and printed and written to .local/iam-table.md when they are done."""

import os
import time
from importlib.metadata import version

from conftest import ROOT
from iam.stack import NO_AUTH_ACTIONS

TABLE_OUT = os.path.join(ROOT, ".local", "iam-table.md")

FOOTNOTES = (
    "In every failing flow the removed action was refused (checked). "
    "¹ The token write, a TransactWriteItems, was refused by the test's gateway, which "
    "checks each item's action (PutItem, UpdateItem, ConditionCheckItem) as AWS does; "
    "moto checks a `dynamodb:TransactWriteItems` action instead, which IAM does not "
    "have and every user here holds for that reason. Every other refusal is moto's. "
    "² Nothing was refused during this flow: the function answered from the refusal "
    "of an earlier flow in the same process (a failed whitelist read is not retried "
    "for a second)."
)


class Findings:
    """What the tests saw: for each principal the outcomes with all of its actions
    (`every[label]`), and for each removed action the flows that failed
    (`without[label, action]`); a test that did not run leaves its entry out."""

    def __init__(self):
        self.every, self.without = {}, {}
        self.started = time.monotonic()

    def render(self, principals, stack):
        seconds = time.monotonic() - self.started
        out = [
            '| Function or command | Actions held (Resource "*") | Flows passed '
            "with all of them | Without | Flows that fail |",
            "|---|---|---|---|---|",
        ]
        for p in principals:
            out += self._rows(p)
        out += [
            "",
            FOOTNOTES,
            "",
            "Not exercised:",
            "",
            "| Function or command | Action | Granted under | Why |",
            "|---|---|---|---|",
        ]
        for p in principals:
            for action, conditions, why in p.not_exercised():
                under = ", ".join(sorted(conditions)) or "always"
                out.append(f"| {p.label} | {action} | {under} | {why} |")
        out += [
            "",
            f"moto {version('moto')} with INITIAL_NO_AUTH_ACTION_COUNT={NO_AUTH_ACTIONS}: "
            f"{stack.setup_actions} unauthenticated actions of setup, {stack.burned} spent "
            f"with an unknown key until moto refused it; {seconds:.0f} s for the flows.",
            "",
        ]
        return "\n".join(out)

    def _rows(self, p):
        every = self.every.get(p.label)
        if every is None:
            passed = "not run"
        else:
            names = [f for f, o in every.items() if not o.why]
            passed = f"{len(names)}/{len(every)}: {'; '.join(names)}"
        rows = []
        for action in p.exercised:
            # The principal's own columns on its first row only.
            lead = (
                "| | | |"
                if rows
                else f"| {p.label} ({p.resource}) | {', '.join(p.exercised)} | {passed} |"
            )
            rows.append(f"{lead} {action} | {self._failing(p, action)} |")
        return rows

    def _failing(self, p, action):
        failing = self.without.get((p.label, action))
        if failing is None:
            return "not run"
        return "; ".join(f"{f} ({o})" for f, o in failing.items()) or "**none: spare**"

    def publish(self, principals, stack):
        """Prints the table and writes it to TABLE_OUT."""
        table = self.render(principals, stack)
        os.makedirs(os.path.dirname(TABLE_OUT), exist_ok=True)
        with open(TABLE_OUT, "w") as f:
            f.write(table)
        print("\n" + table)
