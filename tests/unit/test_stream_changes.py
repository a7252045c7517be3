"""What a stream consumer sees of a write: a Lambda DynamoDB-stream record decoded into a
Change (chalicelib/db/streams.py), plain values where the record types them."""
from decimal import Decimal

import pytest

from chalicelib.db import streams

ARN = "arn:aws:dynamodb:cn-north-1:111122223333:table/yutang-demo-orders/stream/2026-12-01T00"


def _record(event_name, keys, old=None, new=None, sequence="000000000000000000042"):
    dynamodb = {"ApproximateCreationDateTime": 1764547200.0, "Keys": keys,
                "SequenceNumber": sequence, "SizeBytes": 120,
                "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        dynamodb["OldImage"] = old
    if new is not None:
        dynamodb["NewImage"] = new
    return {"eventID": "1", "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "cn-north-1", "dynamodb": dynamodb,
            "eventSourceARN": ARN}


def test_a_new_and_old_images_record_is_a_change_with_plain_values():
    keys = {"order_id": {"S": "o-1"}}
    old = {"order_id": {"S": "o-1"}, "status": {"S": "PENDING_PAYMENT"},
           "total_fen": {"N": "17600"}, "held": {"BOOL": True}, "guide_id": {"NULL": True}}
    new = {"order_id": {"S": "o-1"}, "status": {"S": "PAID"}, "total_fen": {"N": "17600"},
           "rate": {"N": "0.35"}, "whole": {"N": "3.00"},
           "breakdown": {"M": {"lines": {"L": [{"M": {"sku_id": {"S": "s-1"},
                                                       "quantity": {"N": "2"}}}]}}},
           "tags": {"SS": ["a", "b"]}, "shards": {"NS": ["1", "2.5"]},
           "code": {"B": "aGk="}}

    change = streams.change_of("orders", _record("MODIFY", keys, old, new))

    assert change == streams.Change(
        table="orders", event="MODIFY", keys={"order_id": "o-1"},
        old={"order_id": "o-1", "status": "PENDING_PAYMENT", "total_fen": 17_600,
             "held": True, "guide_id": None},
        new={"order_id": "o-1", "status": "PAID", "total_fen": 17_600,
             "rate": Decimal("0.35"), "whole": 3,
             "breakdown": {"lines": [{"sku_id": "s-1", "quantity": 2}]},
             "tags": {"a", "b"}, "shards": {1, Decimal("2.5")}, "code": b"hi"},
        sequence="000000000000000000042")
    assert type(change.new["total_fen"]) is int and type(change.new["whole"]) is int


def test_an_insert_has_no_old_item_and_a_remove_no_new_one():
    keys = {"order_id": {"S": "o-2"}}
    item = {"order_id": {"S": "o-2"}, "status": {"S": "PENDING_PAYMENT"}}

    inserted = streams.change_of("orders", _record("INSERT", keys, new=item))
    removed = streams.change_of("orders", _record("REMOVE", keys, old=item))

    assert (inserted.event, inserted.old, inserted.new["status"]) == \
        (streams.INSERT, None, "PENDING_PAYMENT")
    assert (removed.event, removed.old["order_id"], removed.new) == \
        (streams.REMOVE, "o-2", None)


def test_a_change_cannot_be_altered_by_a_consumer():
    change = streams.change_of("orders", _record("INSERT", {"order_id": {"S": "o-3"}},
                                                 new={"order_id": {"S": "o-3"}}))
    with pytest.raises(AttributeError):
        change.event = "REMOVE"


def test_the_declared_arn_names_the_table_the_function_reads():
    assert streams.table_of(streams.declared_arn("orders")) == "orders"
    assert streams.table_of(ARN) == "yutang-demo-orders"


def test_every_consumer_of_a_batch_runs_even_when_one_fails_and_then_the_batch_fails():
    seen = []

    def failing(changes, clock):
        seen.append(("failing", [change.keys["order_id"] for change in changes]))
        raise RuntimeError("DynamoDB went away")

    def counting(changes, clock):
        seen.append(("counting", [change.keys["order_id"] for change in changes]))

    batch = {"Records": [_record("INSERT", {"order_id": {"S": f"o-{n}"}},
                                 new={"order_id": {"S": f"o-{n}"}}) for n in range(3)]}
    installed = streams._provider[:]
    streams.use(lambda: {"orders": (("failing", failing), ("counting", counting))})
    try:
        with pytest.raises(streams.BatchFailed, match="failing"):
            streams.handle("orders", batch)
    finally:
        streams._provider[:] = installed

    assert seen == [("failing", ["o-0", "o-1", "o-2"]), ("counting", ["o-0", "o-1", "o-2"])]
