"""The streams mechanism itself (chalicelib/db/streams.py, devtools/streams.py), against
DynamoDB Local's own stream of the orders table: a write reaches the consumers with the item
before and after, through the app's stream function; a consumer that fails has the batch
delivered again by the next drain while the others still ran; and the order_paid consumer,
given a paid order twice, changes nothing the second time."""
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.test_checkout import _member, _sku
from tests.conftest import STORE_A


@contextmanager
def _consumers(**of_orders):
    """The orders stream's consumers replaced by the test's own while the block runs (what the
    stream held before is delivered to the app's own first)."""
    from chalicelib.db import streams as consumed
    from devtools import streams

    streams.drain()
    installed = consumed._provider[:]
    consumed.use(lambda: {"orders": tuple(of_orders.items())})
    try:
        yield
    finally:
        consumed._provider[:] = installed


def _order_of_no_one(order_id):
    """An order item of a member and store of nobody's: no job or list will find it."""
    from chalicelib.orders.models import Order

    now = datetime.now(timezone.utc)
    return Order(order_id, member_id=f"m-stream-{order_id}", store_id="store-stream-test",
                 channel="mall", fulfilment="pickup", stock_from="store-stream-test",
                 status="PENDING_PAYMENT", breakdown={"delivery_fee_fen": 0}, total_fen=1_250,
                 created_at=now, created_key=f"{now.isoformat()}#{order_id}",
                 store_day=f"store-stream-test#{now.date()}", pay_by=now + timedelta(minutes=15))


def _mine(order_id, seen):
    return [change for change in seen if change.keys == {"order_id": order_id}]


def test_a_write_reaches_the_consumer_with_the_item_before_and_after(local_services):
    from chalicelib.db.streams import INSERT, MODIFY, REMOVE
    from chalicelib.orders.models import Order
    from devtools import streams

    order_id = f"o-stream-{uuid.uuid4().hex[:12]}"
    seen = []
    with _consumers(recorder=lambda changes, clock: seen.extend(changes)):
        order = _order_of_no_one(order_id)
        order.save()
        order.update(actions=[Order.status.set("CLOSED"), Order.close_reason.set("expired")])
        order.delete()
        assert _mine(order_id, seen) == []  # nothing reaches a consumer before it is read

        assert streams.drain() >= 3

    inserted, modified, removed = _mine(order_id, seen)
    assert (inserted.table, inserted.event, inserted.old) == ("orders", INSERT, None)
    assert inserted.new["total_fen"] == 1_250 and type(inserted.new["total_fen"]) is int
    assert modified.event == MODIFY
    assert (modified.old["status"], modified.new["status"]) == ("PENDING_PAYMENT", "CLOSED")
    assert "close_reason" not in modified.old and modified.new["close_reason"] == "expired"
    assert (removed.event, removed.old["status"], removed.new) == (REMOVE, "CLOSED", None)
    assert int(inserted.sequence) < int(modified.sequence) < int(removed.sequence)


def test_a_failing_consumer_has_the_batch_delivered_again_and_the_others_still_run(
        local_services, capsys):
    from chalicelib.orders.models import Order
    from devtools import streams

    order_id = f"o-stream-{uuid.uuid4().hex[:12]}"
    first, second, failures = [], [], ["DynamoDB went away"]

    def flaky(changes, clock):
        second.extend(changes)
        if failures and _mine(order_id, changes):
            raise RuntimeError(failures.pop())

    with _consumers(first=lambda changes, clock: first.extend(changes), second=flaky):
        order = _order_of_no_one(order_id)
        order.save()
        capsys.readouterr()

        streams.drain()  # the second consumer fails: the first has run all the same
        assert len(_mine(order_id, first)) == len(_mine(order_id, second)) == 1
        logged = capsys.readouterr().out
        assert '"event": "stream_consumer_failed"' in logged and '"consumer": "second"' in logged
        assert '"event": "stream_batch"' in logged and '"ok": false' in logged

        streams.drain()  # the same batch again: both run, the second succeeds this time
        assert len(_mine(order_id, first)) == len(_mine(order_id, second)) == 2
        assert '"ok": true' in capsys.readouterr().out

        streams.drain()  # delivered: nothing comes a third time
        assert len(_mine(order_id, first)) == len(_mine(order_id, second)) == 2
        order.delete()
        streams.drain()


def test_a_paid_order_delivered_twice_changes_nothing_the_second_time(local_services):
    """The points come with the payment itself; the stream's subscribers (the message, the
    member's activity) run once however often the batch is delivered."""
    from chalicelib.core.clock import clock
    from chalicelib.mall.channel import MALL
    from chalicelib.members.models import Member
    from chalicelib.notify.models import Notification
    from chalicelib.orders import events, payments, placing
    from devtools import streams

    member_id = _member()
    order, _ = placing.place(MALL, member_id, uuid.uuid4().hex, {
        "store_id": STORE_A, "items": [{"sku_id": _sku(price_fen=5_000, stock=2),
                                        "quantity": 1}], "fulfilment": "pickup"})
    paid = []
    with _consumers(order_paid=events.deliver_paid_orders,
                    spy=lambda changes, clock: paid.extend(changes)):
        payments.record_payment(order, f"42{uuid.uuid4().hex[:16]}", None)
        assert Member.get(member_id, consistent_read=True).points_balance == 50
        assert list(Notification.by_member.query(member_id)) == []
        streams.drain()
        told = [n.notification_id for n in Notification.by_member.query(member_id)]
        assert len(told) == 1

        events.deliver_paid_orders(_mine(order.order_id, paid), clock)  # a batch again

    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.growth) == (50, 50)
    assert [n.notification_id for n in Notification.by_member.query(member_id)] == told


def test_an_existing_table_without_its_models_stream_gets_it(local_services):
    from pynamodb.attributes import UnicodeAttribute

    from chalicelib import tables
    from chalicelib.db.base import Model, TableMeta

    class Unstreamed(Model):
        class Meta(TableMeta):
            table = f"stream-test-{uuid.uuid4().hex[:8]}"

        key = UnicodeAttribute(hash_key=True)

    Unstreamed.create_table(wait=True)
    try:
        client = Unstreamed._get_connection().connection.client

        def described():
            return client.describe_table(TableName=Unstreamed.Meta.table_name)["Table"]

        assert tables._enable_missing_stream(Unstreamed, client, described()) == []
        assert not described().get("LatestStreamArn")
        Unstreamed.Meta.stream_view_type = "NEW_AND_OLD_IMAGES"

        assert tables._enable_missing_stream(Unstreamed, client, described()) == \
            [f"{Unstreamed.Meta.table_name}/stream"]
        assert described()["StreamSpecification"] == {"StreamEnabled": True,
                                                      "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert described()["LatestStreamArn"]
        assert tables._enable_missing_stream(Unstreamed, client, described()) == []
        Unstreamed.Meta.stream_view_type = "KEYS_ONLY"
        with pytest.raises(RuntimeError, match="turn its stream off first"):
            tables._enable_missing_stream(Unstreamed, client, described())
    finally:
        Unstreamed.delete_table()


def test_the_orders_table_streams_both_images(local_services):
    from chalicelib.orders.models import Order

    described = Order._get_connection().connection.client.describe_table(
        TableName=Order.Meta.table_name)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True,
                                                 "StreamViewType": "NEW_AND_OLD_IMAGES"}
