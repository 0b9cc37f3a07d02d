#!/usr/bin/env python3
"""moto's server, with each DynamoDB item operation atomic, as it is on AWS.

moto serves requests on threads and evaluates a write's condition and applies the write
as separate Python steps, so two conditional writes to one item that arrive together can
both pass their conditions: a race DynamoDB never has. Tests of concurrency (many
instances of the function at once) need DynamoDB's guarantee, so every DynamoDB operation
runs under one lock here. Arguments are moto_server's (`-H 127.0.0.1 -p PORT`).
"""

import functools
import threading

from moto import server
from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()

OPERATIONS = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items",
              "transact_get_items", "query", "scan", "batch_get_item")


def _atomic(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)
    return run


for _name in OPERATIONS:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    server.main()
