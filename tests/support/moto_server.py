#!/usr/bin/env python3
"""moto's server, with each DynamoDB item operation atomic, as it is on AWS.

moto serves requests on threads and evaluates a write's condition and applies the write
as separate Python steps, so two conditional writes to one item that arrive together can
both pass their conditions: a race DynamoDB never has. Tests of concurrency (many
instances of the function at once) need DynamoDB's guarantee, so every DynamoDB operation
runs under one lock here. A cancelled transaction puts back the items it named (see
`_item_rollback`). Arguments are moto_server's (`-H 127.0.0.1 -p PORT`).

With MOTO_CALL_LOG set, every AWS call is also recorded there, one JSON line each, with
the process that made it (tests/support/call_log.py), for IAM by evaluation.
"""

import copy
import functools
import threading

from moto import server
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

import call_log

_LOCK = threading.RLock()

OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "query",
    "scan",
    "batch_get_item",
)


def _atomic(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return run


def _item_key(table, op_type, op):
    if op_type == "Put":
        item = op.get("Item") or {}
        key = {table.hash_key_attr: item.get(table.hash_key_attr)}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = item.get(table.range_key_attr)
        return key
    return op.get("Key")


def _item_rollback(transact):
    """moto backs a transaction up by deep-copying every table it names, so a token write
    costs time in proportion to the tokens already written: a bench or a test late in a run
    measures moto's copying, not the function. DynamoDB's unit is the item: back up only
    the items the transaction names, and put them back if it is cancelled."""

    @functools.wraps(transact)
    def run(self, transact_items):
        saved = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                try:
                    key = _item_key(table, op_type, op)
                    current = self.get_item(op["TableName"], key)
                except Exception:  # an invalid request: moto's own checks answer it
                    continue
                before = None if current is None else copy.deepcopy(current.to_json()["Attributes"])
                saved.append((op["TableName"], key, before))
        try:
            return transact(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(saved):
                if before is not None:
                    self.put_item(table_name, before)
                elif self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            raise

    return run


# moto's own whole-table backup becomes the table itself (nothing else here copies one).
Table.__deepcopy__ = lambda self, _memo: self
DynamoDBBackend.transact_write_items = _item_rollback(DynamoDBBackend.transact_write_items)

for _name in OPERATIONS:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    call_log.install(server)
    server.main()
