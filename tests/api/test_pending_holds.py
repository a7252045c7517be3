"""Stock hoarding: one shopper's unpaid orders hold at most MAX_PENDING_ORDERS_PER_MEMBER
orders (5) and MAX_PENDING_UNITS_PER_SKU units of one SKU (20) at once, on every channel,
counted by each order's ticket on the member's holds; an order paid, cancelled or expired
holds nothing more."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _member, _order_request, _sku
from tests.api.test_flash_sales import brand_admin
from tests.api.test_payments import _notify_xml, _send_notify
from tests.conftest import JSON, STORE_A, body_of


def _place(member_id, sku, quantity=1, lines=1):
    from chalicelib.orders import placing as orders
    from chalicelib.mall.channel import MALL

    request = {"store_id": STORE_A, "items": [{"sku_id": sku, "quantity": quantity}] * lines}
    return orders.place(MALL, member_id, _id("key"), request)[0]


def _refusal(call):
    from chalicelib.errors import DomainError

    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def _pending(member_id):
    from chalicelib.orders.models import Order
    from chalicelib.orders.placing import load_orders

    return [order for order in load_orders(list(Order.by_member.query(member_id)))
            if order.status == "PENDING_PAYMENT"]


def test_one_shopper_cannot_hold_a_skus_stock_with_unpaid_orders(client):
    from chalicelib.catalog.stock import current

    member = _member()
    sku, others = _sku(stock=2_000), [_sku(stock=10) for _ in range(5)]

    # The hoard: 99 units × 20 lines of one SKU, in one order or in many.
    assert _refusal(lambda: _place(member, sku, 99, lines=20)) == "pending_units_limit"
    assert _refusal(lambda: _place(member, sku, 99)) == "pending_units_limit"
    assert current(STORE_A, sku) == 2_000 and _pending(member) == []
    _place(member, sku, 15)
    _place(member, sku, 5)
    assert _refusal(lambda: _place(member, sku, 1)) == "pending_units_limit"
    assert current(STORE_A, sku) == 1_980

    for other in others[:3]:
        _place(member, other)
    assert len(_pending(member)) == 5
    assert _refusal(lambda: _place(member, others[3])) == "too_many_pending_orders"
    assert current(STORE_A, others[3]) == 10
    # Another shopper is not held back by the first one's orders.
    _place(_member(), sku, 20)


def test_every_channel_counts_on_the_same_holds(client):
    from chalicelib.promotions.flash import buying
    from chalicelib.promotions.groups import joining
    from tests.api.test_flash_sales import _sale
    from tests.api.test_group_buys import _campaign
    from tests.api.test_live import _guide, _session, _token
    from tests.api.test_live import _buy as live_buy

    member = _member()
    sku = _sku(stock=100)
    sale = _sale(sku, quantity=20, limit=10)
    buying.buy(member, sale.sale_id, _id("k"), {"store_id": STORE_A, "sku_id": sku,
                                                 "quantity": 8})
    assert _refusal(lambda: _place(member, sku, 13)) == "pending_units_limit"  # 8 + 13 > 20
    _place(member, sku, 12)
    _, host = _guide(client)
    session = _session(host, _sku(stock=10), quantity=5)
    live_buy(member, session, session.lineup[0]["sku_id"], _token(member, session))
    campaign = _campaign(_sku(stock=10))
    joining.open_group(member, campaign.campaign_id, _id("k"),
                       {"store_id": STORE_A, "sku_id": campaign.items[0]["sku_id"]})
    _place(member, _sku(stock=10))
    assert len(_pending(member)) == 5

    other_sale = _sale(_sku(stock=10), quantity=5)
    assert _refusal(lambda: buying.buy(
        member, other_sale.sale_id, _id("k"),
        {"store_id": STORE_A, "sku_id": other_sale.items[0]["sku_id"], "quantity": 1})) \
        == "too_many_pending_orders"
    assert _refusal(lambda: live_buy(member, session, session.lineup[0]["sku_id"],
                                     _token(member, session))) == "too_many_pending_orders"
    assert _refusal(lambda: joining.open_group(
        member, campaign.campaign_id, _id("k"),
        {"store_id": STORE_A, "sku_id": campaign.items[0]["sku_id"]})) \
        in ("too_many_pending_orders", "group_buy_limit")


def test_paying_cancelling_or_expiring_an_order_frees_what_it_held(client, shopper,
                                                                   served_app):
    from chalicelib.orders import closing as lifecycle

    headers, member = shopper
    sku = _sku(stock=100)
    paid, cancelled, expired, *_ = [_place(member, sku, 4) for _ in range(5)]
    assert _refusal(lambda: _place(member, sku, 1)) == "too_many_pending_orders"

    assert "SUCCESS" in _send_notify(served_app, _notify_xml(paid.order_id, paid.total_fen))
    _place(member, sku, 4)  # the paid order's place and units are free
    assert _refusal(lambda: _place(member, sku, 1)) == "too_many_pending_orders"

    answer = client.http.post(f"/orders/{cancelled.order_id}/cancel",
                              headers={**headers, **JSON}, body="{}")
    assert answer.status_code == 200 and body_of(answer)["status"] == "CLOSED", answer.body
    _place(member, sku, 4)

    lifecycle.close_unpaid(expired, "expired",
                           clock=FixedClock(expired.pay_by + timedelta(minutes=1)))
    assert _refusal(lambda: _place(member, sku, 5)) == "pending_units_limit"  # 4 × 4 + 5
    _place(member, sku, 4)
    assert len(_pending(member)) == 5


def test_an_order_expired_by_the_minute_job_frees_what_it_held(client):
    from chalicelib.orders import closing as lifecycle
    from chalicelib.db import cursors as minutes

    member = _member()
    sku = _sku(stock=100)
    held = _place(member, sku, 20)
    assert _refusal(lambda: _place(member, sku, 1)) == "pending_units_limit"

    later = FixedClock(held.pay_by + timedelta(minutes=1))
    minutes.cover(lifecycle.JOB, held.pay_by - timedelta(minutes=1), later.now())  # ran then
    lifecycle.run_minute_job(clock=later)

    assert _place(member, sku, 20).status == "PENDING_PAYMENT"


def test_placements_at_once_never_exceed_the_limits(client):
    from chalicelib.errors import DomainError

    member = _member()
    skus = [_sku(stock=50) for _ in range(2)]

    def attempt(n):
        try:
            return _place(member, skus[n % 2], 3).order_id
        except DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, range(16)))

    placed = [outcome for outcome in outcomes if outcome.startswith("o_")]
    assert 1 <= len(placed) <= 5, outcomes
    assert set(outcomes) - set(placed) <= {"too_many_pending_orders", "conflict"}, outcomes
    pending = _pending(member)
    assert sorted(order.order_id for order in pending) == sorted(placed)
    from chalicelib.orders.holds import TICKETS, PendingHold

    # A ticket for each order placed, none left by the placements refused or lost.
    tickets = PendingHold.get(member, TICKETS, consistent_read=True).tickets.as_dict()
    assert sorted(tickets) == sorted(placed)
    while len(_pending(member)) < 5:  # what the burst left free can still be taken, no more
        _place(member, skus[0], 1)
    assert _refusal(lambda: _place(member, skus[1], 1)) == "too_many_pending_orders"


def test_limits_are_settings(client, monkeypatch):
    monkeypatch.setenv("MAX_PENDING_ORDERS_PER_MEMBER", "2")
    monkeypatch.setenv("MAX_PENDING_UNITS_PER_SKU", "50")
    member = _member()
    sku = _sku(stock=100)
    _place(member, sku, 30)
    _place(member, sku, 20)
    assert _refusal(lambda: _place(member, _sku(stock=1))) == "too_many_pending_orders"


def test_a_refused_placement_answers_409_in_the_error_shape(client, shopper):
    headers, _ = shopper
    sku = _sku(stock=100)
    answer = client.http.post("/orders", headers={**headers, **JSON, "Idempotency-Key": "h1"},
                              body=json.dumps(_order_request(sku, 21)))
    assert answer.status_code == 409
    assert body_of(answer)["error"]["code"] == "pending_units_limit"
    assert "20" in body_of(answer)["error"]["message"]
