"""Events written under a kind's former name are still delivered to its subscribers: a
refund_settled event (order_refunded's name before) pending in the table takes back what the
refund should, and is gone after."""
from datetime import datetime, timedelta, timezone

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _sku
from tests.api.test_payments import _wait_for, _wechat_order
from tests.api.test_refunds import _held_refund, _paid


def test_a_refund_settled_event_from_before_the_rename_is_delivered_by_the_job(
        client, shopper, served_app, sandbox_url, monkeypatch):
    from chalicelib import wiring
    from chalicelib.db import events
    from chalicelib.db.base import transaction
    from chalicelib.db.outbox import Event
    from chalicelib.members.models import Member
    from chalicelib.orders import refunds
    from chalicelib.orders.events import ORDER_REFUNDED, REFUND_SETTLED
    from tests.faults import inject, touches

    headers, member_id = shopper
    order = _paid(client, sandbox_url, headers, _sku(price_fen=10_000, stock=1))
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    _wait_for(lambda: _wechat_order(sandbox_url, order["order_id"])["refunds"][0]["status"]
              == "SUCCESS")
    # DynamoDB fails as the refund's growth is taken back: the event stays pending.
    failed = inject(monkeypatch, "TransactWriteItems", touches(
        "applied-changes", key=f"growth#{member_id}#refund#{refund['refund_id']}"))
    refunds.follow_up()
    subject = {"order_id": order["order_id"], "refund_id": refund["refund_id"]}
    assert failed and events.pending(ORDER_REFUNDED, **subject)
    # The same event as one written before the rename: under the former kind, nothing done.
    Event.get(events.event_key(ORDER_REFUNDED, subject), consistent_read=True).delete()
    now = datetime.now(timezone.utc)
    with transaction() as writes:
        events.add_in(writes, REFUND_SETTLED, now, **subject)
    assert Member.get(member_id, consistent_read=True).growth == 100

    wiring.run_job(FixedClock(now + timedelta(minutes=10)))

    assert not events.pending(REFUND_SETTLED, **subject)
    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.points_debt, member.growth) == (0, 0, 0)
