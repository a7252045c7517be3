"""DynamoDB requests and write units counted the way AWS bills them, at botocore.

DynamoDB Local's own ConsumedCapacity leaves out two things AWS charges: the writes to global
secondary indexes and the writes whose condition failed. So every write is weighed here from
the item as it was before and after it (read around the call through the same client, not
counted):

- a write costs ceil(KB) of the larger of the item before and after, at least 1 unit; inside
  a TransactWriteItems each item costs twice that (DynamoDB prepares and commits), and a
  ConditionCheck costs as a write of the item it checks;
- a write whose condition fails (alone, or a cancelled transaction's every item) still costs
  what it would have written, its indexes aside;
- each index the write changes costs a write of its projected item (ceil(KB), at least 1):
  added, updated (a projected attribute changed) or removed; moved to another key, two;
- an item's size is the sum of its attribute names and values (strings in UTF-8, numbers
  about one byte per two digits plus one, maps and lists 3 bytes plus 1 per element).
"""
import math
from contextlib import contextmanager
from decimal import Decimal

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
KB = 1024


def value_size(value):
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = Decimal(inner).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element)
                       for name, element in inner.items())
    raise ValueError(f"an attribute value of kind {kind}")


def item_size(item):
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def units(size):
    return max(1, math.ceil(size / KB))


class Table:
    """A table's key and its global indexes (name → key attributes, projected attributes or
    None for all)."""

    def __init__(self, described):
        self.key = [part["AttributeName"] for part in described["KeySchema"]]
        self.indexes = {}
        for index in described.get("GlobalSecondaryIndexes", []):
            keys = [part["AttributeName"] for part in index["KeySchema"]]
            projection = index["Projection"]
            kind = projection["ProjectionType"]
            projected = None if kind == "ALL" else set(keys) | set(self.key) | set(
                projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else [])
            self.indexes[index["IndexName"]] = (keys, projected)

    def key_of(self, item):
        return {name: item[name] for name in self.key}

    def index_units(self, before, after):
        """Write units the indexes cost for the item going from `before` to `after`."""
        total = 0
        for keys, projected in self.indexes.values():
            def image(item):
                if not item or any(name not in item for name in keys):
                    return None
                return item if projected is None else {name: value for name, value in
                                                       item.items() if name in projected}
            old, new = image(before), image(after)
            if old is None and new is None or old == new:
                continue
            if old is not None and new is not None and \
                    any(old[name] != new[name] for name in keys):
                total += units(item_size(old)) + units(item_size(new))
            else:
                total += units(item_size(new if new is not None else old))
        return total


class Meter:
    """The calls made while metering: each [operation, write units (None for reads)]."""

    def __init__(self, client):
        self._client = client
        self._tables = {}
        self.calls = []

    def table(self, name):
        if name not in self._tables:
            self._tables[name] = Table(self._client.describe_table(TableName=name)["Table"])
        return self._tables[name]

    def read_item(self, original, name, key):
        answer = original(self._client, "GetItem", {"TableName": name, "Key": key,
                                                     "ConsistentRead": True})
        return answer.get("Item")

    def writes_of(self, operation, params):
        """[(table, key, transactional, is a ConditionCheck, item put or None)]."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            item = params.get("Item")
            key = params["Key"] if item is None else self.table(table).key_of(item)
            return [(table, key, False, False, item)]
        if operation == "BatchWriteItem":
            found = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        found.append((table, self.table(table).key_of(item), False, False,
                                      item))
                    else:
                        found.append((table, request["DeleteRequest"]["Key"], False, False,
                                      None))
            return found
        found = []
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            item = body.get("Item")
            key = body["Key"] if item is None else self.table(body["TableName"]).key_of(item)
            found.append((body["TableName"], key, True, kind == "ConditionCheck", item))
        return found


def _weigh(meter, original, writes, before, failed):
    """[(table, units)] of each item written."""
    weighed = []
    for (table, key, transactional, is_check, put), old in zip(writes, before):
        if is_check or failed:
            base = units(max(item_size(old), item_size(put)))
            weighed.append((table, base * (2 if transactional else 1)))
            continue
        new = meter.read_item(original, table, key)
        base = units(max(item_size(old), item_size(new)))
        weighed.append((table, base * (2 if transactional else 1)
                        + meter.table(table).index_units(old, new)))
    return weighed


@contextmanager
def metering_dynamodb():
    """Every DynamoDB call made inside the block, as [operation, billed write units (None for
    a read), [(table, units) of each item written]]."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call
    meters = {}
    calls = []

    def metered(client, operation, params):
        if client.meta.service_model.service_name != "dynamodb" or \
                operation not in WRITES | READS:
            return original(client, operation, params)
        meter = meters.setdefault(id(client), Meter(client))
        call = [operation, None, []]
        calls.append(call)
        if operation not in WRITES:
            return original(client, operation, params)
        writes = meter.writes_of(operation, params)
        before = [meter.read_item(original, table, key) for table, key, *_ in writes]
        try:
            response = original(client, operation, params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                call[2] = _weigh(meter, original, writes, before, failed=True)
                call[1] = sum(units for _, units in call[2])
            raise
        unprocessed = response.get("UnprocessedItems") or {}
        if unprocessed:
            raise RuntimeError("metered batch writes left items unprocessed")
        call[2] = _weigh(meter, original, writes, before, failed=False)
        call[1] = sum(units for _, units in call[2])
        return response

    BaseClient._make_api_call = metered
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


def written(calls):
    return sum(call[1] for call in calls if call[1] is not None)


def by_table(calls):
    """{table: write units} of the calls, most first."""
    totals = {}
    for call in calls:
        for table, spent in call[2]:
            totals[table] = totals.get(table, 0) + spent
    return dict(sorted(totals.items(), key=lambda pair: -pair[1]))


def transactions_touching(calls, table_suffix):
    """How many of the calls were transactions with an item of a table named …<suffix>."""
    return sum(1 for operation, _, items in calls if operation == "TransactWriteItems"
               and any(table.endswith(table_suffix) for table, _ in items))
