"""Operators editing at the same moment: each edit is read, decided and written, and the
write is conditional on what was read (an application's version; for the whitelist, whose
SSM parameter cannot be written conditionally, a claim on its next version), so no edit
undoes another. Each test runs many CLI processes at once on a stack of its own."""

import json
import threading
import uuid

from conftest import resources
from test_concurrency import own_env, run

PARAMETER = next(r["variable"] for r in resources() if r["kind"] == "parameter")


def at_once(e, commands):
    """Runs each command in a process of its own, all started together; returns the
    processes' failures (none expected)."""
    failures = []

    def one(args):
        try:
            run(e, *args)
        except Exception as failure:  # reported below, with its command
            failures.append((args, failure))

    threads = [threading.Thread(target=one, args=(c,)) for c in commands]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def test_whitelist_edits_at_once_all_land():
    """Before: each `whitelist add` read the list and wrote it back with overwrite, so of
    edits at once most were lost."""
    e = own_env("edits")
    e[PARAMETER] = f"/edits-{uuid.uuid4().hex[:8]}/client-whitelist"
    run(e, "init")
    before = json.loads(run(e, "whitelist", "list", "--output", "json").stdout)
    added = [f"edit-client-{i}" for i in range(6)]
    assert at_once(e, [("whitelist", "add", c) for c in added]) == []
    after = json.loads(run(e, "whitelist", "list", "--output", "json").stdout)
    print(f"\nwhitelist: {len(added)} additions at once, {len(set(after) - set(before))} landed")
    assert set(after) - set(before) == set(added)
    assert at_once(e, [("whitelist", "remove", c) for c in added[:3]]) == []
    final = json.loads(run(e, "whitelist", "list", "--output", "json").stdout)
    assert set(final) - set(before) == set(added[3:]), "every removal landed too"


def test_app_updates_at_once_all_land():
    """Four updates of four different fields at once. Before: `app update` rewrote the
    whole item it had read (conditional only on the secret), so the last writer undid the
    others."""
    e = own_env("appedit")
    client = "app-" + uuid.uuid4().hex[:8]
    run(e, "app", "add", client, "--redirect-uri", "https://one.example/cb", "--confidential")
    updates = [
        ("--name", "Renamed"),
        ("--redirect-uri", "https://two.example/cb"),
        ("--scope-ceiling", "repo:read"),
        ("--introspect-any",),
    ]
    assert at_once(e, [("app", "update", client, *u) for u in updates]) == []
    (app,) = [
        a
        for a in json.loads(run(e, "app", "list", "--output", "json").stdout)
        if a["client_id"] == client
    ]
    print(f"\napp update: {len(updates)} updates at once, the application after: {app}")
    assert (app["name"], app["redirect_uris"], app["scope_ceiling"], app["introspect_any"]) == (
        "Renamed",
        ["https://two.example/cb"],
        ["repo:read"],
        True,
    )
