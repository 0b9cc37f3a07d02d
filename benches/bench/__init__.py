"""`make bench` (scripts/bench.sh runs `python -m bench` with benches/ on PYTHONPATH): the
figures of docs/performance.md, one module per section, `__main__` printing the table.

The bench drives the local stack with the test libraries of tests/support/ (local_moto,
runtime_api, fleet, ...) and signs with tools/gen_events.py's sample key: both folders go on
the path here, as pyproject.toml's pytest `pythonpath` puts them for the tests."""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _folder in ("tools", os.path.join("tests", "support")):
    if os.path.join(_ROOT, _folder) not in sys.path:
        sys.path.insert(0, os.path.join(_ROOT, _folder))
