#!/usr/bin/env python3
"""`make bench`: the figures of docs/performance.md and the 401 timing of docs/hardening.md,
measured here, printed as one table in docs/performance.md's form, headed by the commit and
date it was measured at.

Every answer that is timed or counted is checked first (status, Location, the authorizer's
decision, the request's own log line); a wrong one stops the bench with a message instead
of being timed as if it were the figure's request.

Needs: release binaries (scripts/bench.sh builds them), moto (started here), and for the
zip size `make package`. Loopback only.

`PYTHONPATH=benches python -m bench --dry-run` checks the bench itself in a minute: the
debug binaries, two runs of everything, no criterion and no zip; its figures mean nothing.
"""

import argparse
import os
import platform

from .argon2_reference import argon2_rows
from .authorizer import authorizer_rows
from .build import criterion_rows, package_size_row
from .code_flow import code_flow_rows
from .cold_start import cold_start_rows
from .directories import directory_rows
from .dpop import dpop_rows
from .enumeration import enumeration_only, enumeration_rows
from .load import load_rows
from .matrix import matrix_rows
from .pages import pages_rows
from .per_request import per_request_rows
from .round_trips import round_trip_rows
from .setup import Plan, local_stack
from .side_by_side import side_by_side_rows
from .table import measured_at, print_table
from .tls import tls_rows
from .tools import tools_rows

# --aws: issue 36's figures through a proxy that makes each AWS call cost as in-region
# DynamoDB does: the side-by-side table, each request type's split, argon2 beside its C
# reference, and the load run.
AWS_SECTIONS = [side_by_side_rows, per_request_rows, argon2_rows, load_rows]
# The figures measured against the local moto, in the table's order; each section is
# `rows(plan, stack)` -> [(figure, target, measured)].
EVERY_SECTION = [
    cold_start_rows,
    tls_rows,
    code_flow_rows,
    round_trip_rows,
    authorizer_rows,
    matrix_rows,
    enumeration_rows,
    directory_rows,
    dpop_rows,
    pages_rows,
    tools_rows,
    *AWS_SECTIONS,
]
# --focus: the cold start over TLS and its split, and the token endpoint.
FOCUS_SECTIONS = [tls_rows, code_flow_rows]


def arguments():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the bench: debug binaries, 2 runs, no criterion or zip",
    )
    parser.add_argument(
        "--focus",
        action="store_true",
        help="only the cold start over TLS and its split, and the token endpoint",
    )
    parser.add_argument(
        "--directories",
        action="store_true",
        help="only each directory's figures (the users table, LDAP, LDAP "
        "through a 5 ms relay, Cognito)",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="only the pages' figures (sign-in, consent, an API token's creation)",
    )
    parser.add_argument(
        "--tools",
        action="store_true",
        help="only the tools' sign-in figures (refresh, device authorization and polls)",
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        help="only the figures through the latency proxy: side by side with the Python and "
        "JWT peers, per request type, argon2 against its C reference, the load run",
    )
    parser.add_argument(
        "--load-seconds",
        type=float,
        metavar="N",
        help="how long each load run lasts (default 60; 3 in a dry run)",
    )
    parser.add_argument(
        "--enumeration",
        metavar="BINDIR",
        help="only the 401 medians, with the binaries in BINDIR (20 runs)",
    )
    return parser.parse_args()


def heading(plan):
    return f"Measured at {measured_at()} on {platform.machine()}, {os.cpu_count()} cores" + (
        " (DRY RUN: debug build, 2 runs; the figures mean nothing)" if plan.dry_run else ""
    )


def build_rows(plan, focus):
    """The build's own figures, taken once moto is stopped: none with --focus, a note in
    a dry run."""
    if focus:
        return []
    if plan.dry_run:
        return [("criterion and zip size", "", "skipped (dry run)")]
    return [*criterion_rows(), package_size_row()]


def main():
    args = arguments()
    if args.enumeration:
        return enumeration_only(args.enumeration)
    plan = Plan.dry() if args.dry_run else Plan.full()
    if args.load_seconds is not None:
        plan.load_seconds = args.load_seconds
    sections = EVERY_SECTION
    if args.focus:
        sections = FOCUS_SECTIONS
    elif args.directories:
        sections = [directory_rows]
    elif args.pages:
        sections = [pages_rows]
    elif args.tools:
        sections = [tools_rows]
    elif args.aws:
        sections = AWS_SECTIONS
    with local_stack(plan.bindir) as stack:
        rows = [row for section in sections for row in section(plan, stack)]
    only = args.focus or args.directories or args.pages or args.tools or args.aws
    print_table(rows + build_rows(plan, only), heading(plan))


if __name__ == "__main__":
    main()
