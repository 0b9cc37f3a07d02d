"""The bench's output: docs/performance.md's table (figure | target | met | measured),
headed by the commit and date the figures belong to."""

import re
import subprocess

from .setup import ROOT


def met(target, value):
    """'yes'/'no' for a row with a numeric target ("<= 2.0x", "0", ...), '' without one."""
    if not target:
        return ""
    want = re.match(r"(<=|within)?\s*([\d.]+)", target)
    got = re.match(r"([\d.]+)", value)
    if not want:
        return ""
    if not got:
        return "no"  # a target, and no number where the figure should be
    limit, measured = float(want.group(2)), float(got.group(1))
    if want.group(1):
        return "yes" if measured <= limit else "no"
    return "yes" if measured == limit else "no"


def measured_at():
    """The commit and date the figures belong to, and whether the tree had changes."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    commit = git("log", "-1", "--format=%h %cs")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + (" with uncommitted changes" if dirty else "")


def print_table(rows, header):
    """docs/performance.md's table form: figure | target | met | measured."""
    print()
    print(header)
    print()
    print("| figure | target | met | measured |")
    print("|---|---|---|---|")
    for name, target, value in rows:
        print(f"| {name} | {target} | {met(target, value)} | {value} |")
