"""Faults injected where the app meets its library: botocore's one call to DynamoDB. A chosen
call fails as DynamoDB fails (InternalServerError), or something else happens just before it
(a race made deterministic: another request lands between a read and its write). Our own
code runs unpatched."""
import threading

import botocore.client
from botocore.exceptions import ClientError


def _bodies(params):
    """The item-level requests of a call: each item of a transaction, or the call itself."""
    items = params.get("TransactItems")
    if items is None:
        return [params]
    return [body for item in items for body in item.values()]


def _value(attribute):
    return next(iter(attribute.values())) if isinstance(attribute, dict) else None


def touches(table, **values):
    """A predicate on a write's parameters: it writes an item of `table` (its name without
    the stack's prefix) whose attributes have these values (a value may be a predicate)."""
    from chalicelib.config import settings

    name = settings.table_prefix + table

    def matches(body):
        if body.get("TableName") != name:
            return False
        item = {**body.get("Key", {}), **body.get("Item", {})}
        for attribute, wanted in values.items():
            found = _value(item.get(attribute))
            if not (wanted(found) if callable(wanted) else found == wanted):
                return False
        return True

    return lambda params: any(matches(body) for body in _bodies(params))


def inject(monkeypatch, operation, when=lambda params: True, *, before=None, times=1):
    """The next `times` calls of `operation` (e.g. "TransactWriteItems") for which when(params)
    holds fail with DynamoDB's InternalServerError, or, with before, run before() first and
    then go through. Returns the list of the calls hit (their parameters)."""
    original = botocore.client.BaseClient._make_api_call
    hits = []
    lock = threading.Lock()

    def patched(self, operation_name, api_params):
        if operation_name == operation:
            with lock:
                hit = len(hits) < times and when(api_params)
                if hit:
                    hits.append(api_params)
            if hit and before is None:
                raise ClientError({"Error": {"Code": "InternalServerError",
                                             "Message": "injected fault"}}, operation_name)
            if hit:
                before()
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", patched)
    return hits
