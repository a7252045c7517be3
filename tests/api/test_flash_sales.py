"""Flash sales against DynamoDB Local: a stampede on sharded stock, the window by the clock,
stock moved in and given back exactly, unpaid orders returning their units, sold out
without writes, reminders through the WeChat sandbox."""
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _member, _sku
from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff, subscribe

FLASH_PRICE = 5_990  # the test SKUs' brand price is 10,000; the floor is half of it


def brand_admin():
    """A brand admin, as the service functions take the staff member acting."""
    from chalicelib.members.models import Staff

    return Staff("test-admin", role="admin")


def _sale(sku, quantity=100, limit=2, starts_in=timedelta(minutes=-1),
          lasts=timedelta(hours=1), stores=(STORE_A,), **more):
    from chalicelib.promotions.flash import sales

    now = datetime.now(timezone.utc)
    return sales.create({"name": "秒杀测试", "per_member_limit": limit,
                         "items": [{"sku_id": sku, "flash_price_fen": FLASH_PRICE,
                                    "quantity": quantity}],
                         "starts_at": (now + starts_in).isoformat(),
                         "ends_at": (now + starts_in + lasts).isoformat(),
                         "stores": list(stores) if stores else None, **more},
                        brand_admin())


def _buy(member_id, sale, sku, quantity=1, clock=None, key=None):
    from chalicelib.promotions.flash import buying

    arguments = {"clock": clock} if clock else {}
    return buying.buy(member_id, sale.sale_id, key or _id("key"),
                      {"store_id": STORE_A, "sku_id": sku, "quantity": quantity},
                      **arguments)


def _shards_left(sale, sku):
    from chalicelib.promotions.hotstock import left_exactly

    return left_exactly(f"{sale.sale_id}#{sku}")


def test_2000_attempts_from_500_threads_sell_exactly_100_units(client):
    from chalicelib.catalog.stock import current
    from chalicelib.errors import DomainError
    from chalicelib.promotions.flash import window

    sku = _sku(price_fen=5_000, stock=150)
    sale = _sale(sku, quantity=100, limit=2, expected_peak_per_s=6_400)
    assert sale.shard_count == 8
    window.run_steps(sale)
    assert current(STORE_A, sku) == 50 and _shards_left(sale, sku) == 100
    members = [_member() for _ in range(250)]

    def attempt(n):
        try:
            order, _ = _buy(members[n % len(members)], sale, sku)
            return order.member_id
        except DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(max_workers=500) as pool:
        outcomes = list(pool.map(attempt, range(2_000)))

    bought = Counter(outcome for outcome in outcomes if outcome.startswith("m-"))
    refusals = Counter(outcome for outcome in outcomes if not outcome.startswith("m-"))
    assert sum(bought.values()) == 100
    assert max(bought.values()) <= 2
    assert set(refusals) <= {"sold_out", "flash_sale_limit"}, refusals
    assert _shards_left(sale, sku) == 0
    assert current(STORE_A, sku) == 50


def test_the_clock_decides_the_window_not_the_job(client):
    from chalicelib.errors import DomainError

    sku = _sku(stock=10)
    sale = _sale(sku, quantity=5, starts_in=timedelta(minutes=30), lasts=timedelta(hours=1))
    member = _member()
    one_second = timedelta(seconds=1)

    for moment in (sale.starts_at - one_second, sale.ends_at, sale.ends_at + one_second):
        with pytest.raises(DomainError) as refused:
            _buy(member, sale, sku, clock=FixedClock(moment))
        assert refused.value.code == "flash_sale_not_live"
    # No job has moved the units yet: the first buyer at the start moves them.
    order, created = _buy(member, sale, sku, clock=FixedClock(sale.starts_at))
    assert created and order.total_fen == FLASH_PRICE and order.channel == "flash_sale"
    assert _shards_left(sale, sku) == 4


def test_after_the_end_every_unsold_unit_goes_back_exactly(client):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import closing as lifecycle
    from chalicelib.promotions.flash import sales, window

    sku = _sku(stock=40)
    sale = _sale(sku, quantity=30, limit=5, lasts=timedelta(minutes=10))
    orders = [_buy(_member(), sale, sku, quantity=3)[0] for _ in range(4)]  # 12 units
    assert current(STORE_A, sku) == 10

    after_end = FixedClock(sale.ends_at + timedelta(minutes=1))
    window.run_job(clock=after_end)
    window.run_job(clock=after_end)  # a second run gives nothing more

    assert current(STORE_A, sku) == 10 + 18
    assert sales.get(sale.sale_id).returned == {sku: 18}
    # An unpaid order of the sale that expires after the end returns to regular stock.
    lifecycle.close_unpaid(orders[0], "expired", clock=after_end)
    assert current(STORE_A, sku) == 10 + 18 + 3 and _shards_left(sale, sku) == 0


def test_an_unpaid_flash_order_gives_its_units_back_to_the_live_sale(client):
    from chalicelib.orders import closing as lifecycle
    from chalicelib.errors import DomainError

    sku = _sku(stock=5)
    sale = _sale(sku, quantity=2, limit=2)
    member = _member()
    order, _ = _buy(member, sale, sku, quantity=2)
    assert order.pay_by - order.created_at == timedelta(minutes=5)
    with pytest.raises(DomainError) as sold_out:
        _buy(_member(), sale, sku)
    assert sold_out.value.code == "sold_out"

    closed = lifecycle.close_unpaid(order, "expired",
                                    clock=FixedClock(order.pay_by + timedelta(minutes=1)))

    assert closed.status == "CLOSED" and _shards_left(sale, sku) == 2
    again, _ = _buy(member, sale, sku, quantity=2)  # the limit was given back too
    assert again.status == "PENDING_PAYMENT"


def test_sold_out_costs_no_writes(client):
    from botocore.client import BaseClient

    from chalicelib.errors import DomainError

    sku = _sku(stock=3)
    sale = _sale(sku, quantity=1)
    _buy(_member(), sale, sku)
    member = _member()
    original, calls = BaseClient._make_api_call, []

    def counting(client, operation, params):
        calls.append(operation)
        return original(client, operation, params)

    BaseClient._make_api_call = counting
    try:
        with pytest.raises(DomainError) as sold_out:
            _buy(member, sale, sku)
    finally:
        BaseClient._make_api_call = original

    assert sold_out.value.code == "sold_out"
    assert calls and not {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                          "TransactWriteItems"} & set(calls), calls


def test_the_limit_holds_per_member(client):
    from chalicelib.errors import DomainError

    sku = _sku(stock=20)
    sale = _sale(sku, quantity=20, limit=3)
    member = _member()
    _buy(member, sale, sku, quantity=2)
    with pytest.raises(DomainError) as over:
        _buy(member, sale, sku, quantity=2)
    assert over.value.code == "flash_sale_limit"
    _buy(member, sale, sku, quantity=1)


def test_shoppers_see_sales_and_buy_through_the_api(client, admin):
    member_headers = _signed_in(client)
    sku = _sku(stock=30)
    now = datetime.now(timezone.utc)
    created = client.http.post("/admin/flash-sales", headers={**admin, **JSON}, body=json.dumps({
        "name": "午间秒杀", "per_member_limit": 1, "stores": [STORE_A],
        "items": [{"sku_id": sku, "flash_price_fen": FLASH_PRICE, "quantity": 25}],
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat()}))
    assert created.status_code == 201, created.body
    sale_id = body_of(created)["sale_id"]

    listed = body_of(client.http.get(f"/flash-sales?store_id={STORE_A}"))["flash_sales"]
    mine = next(sale for sale in listed if sale["sale_id"] == sale_id)
    assert mine["status"] == "live" and mine["items"][0]["remaining"] == 20  # 25, for display
    assert sale_id not in [s["sale_id"] for s in body_of(client.http.get(
        f"/flash-sales?store_id={STORE_B}"))["flash_sales"]]
    bought = client.http.post(f"/flash-sales/{sale_id}/orders",
                              headers={**member_headers, **JSON, "Idempotency-Key": "fs-1"},
                              body=json.dumps({"store_id": STORE_A, "sku_id": sku,
                                               "quantity": 1}))
    assert bought.status_code == 201, bought.body
    assert body_of(bought)["total_fen"] == FLASH_PRICE
    edited = client.http.put(f"/admin/flash-sales/{sale_id}", headers={**admin, **JSON},
                             body=json.dumps({"name": "改", "per_member_limit": 1,
                                              "stores": [STORE_A],
                                              "items": [{"sku_id": sku, "flash_price_fen": 1,
                                                         "quantity": 25}],
                                              "starts_at": now.isoformat(),
                                              "ends_at": (now + timedelta(hours=1)).isoformat()}))
    assert edited.status_code == 409
    ended = client.http.post(f"/admin/flash-sales/{sale_id}/end", headers=admin)
    assert body_of(ended)["status"] == "ended"
    from chalicelib.catalog.stock import current

    assert current(STORE_A, sku) == 29


def _signed_in(client):
    from tests.conftest import WeChatUser, sign_in

    return sign_in(client, WeChatUser(_id("flash")))[0]


def test_store_managers_run_sales_only_in_their_store(client):
    sku = _sku(stock=10, store_id=STORE_B)  # a franchise store: it may sell below the brand
    now = datetime.now(timezone.utc)
    body = json.dumps({"name": "店内秒杀", "per_member_limit": 1,
                       "items": [{"sku_id": sku, "flash_price_fen": FLASH_PRICE,
                                  "quantity": 5}],
                       "starts_at": (now + timedelta(hours=1)).isoformat(),
                       "ends_at": (now + timedelta(hours=2)).isoformat()})
    manager_a, _ = new_staff(client, "store_manager", STORE_A)
    clerk_b, _ = new_staff(client, "clerk", STORE_B)
    manager_b, _ = new_staff(client, "store_manager", STORE_B)
    path = f"/stores/{STORE_B}/flash-sales"
    assert client.http.post(path, headers={**manager_a, **JSON}, body=body).status_code == 403
    assert client.http.post(path, headers={**clerk_b, **JSON}, body=body).status_code == 403
    created = client.http.post(path, headers={**manager_b, **JSON}, body=body)
    assert created.status_code == 201 and body_of(created)["stores"] == [STORE_B]


def test_reminders_go_out_once_before_the_start(client, sandbox_url):
    from chalicelib.promotions.flash import reminders, window
    from chalicelib.members.models import Member
    from chalicelib.notify import service

    sku = _sku(stock=10)
    sale = _sale(sku, quantity=5, starts_in=timedelta(minutes=30), reminders=True)
    member_id = _member()
    reminders.ask(member_id, sale.sale_id)
    reminders.ask(member_id, sale.sale_id)  # asking twice is one reminder
    # the mini-program asked for the subscription as the member asked: two credits, one used
    subscribe(member_id, "flash_reminder")
    subscribe(member_id, "flash_reminder")
    openid = Member.get(member_id).openid

    def sent():
        return requests.get(f"{sandbox_url}/__sandbox__/messages", params={"touser": openid},
                            timeout=5).json()

    window.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=10)))
    service.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=10)))
    assert sent() == []
    window.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=4)))
    window.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=3)))
    service.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=3)))
    service.run_job(clock=FixedClock(sale.starts_at - timedelta(minutes=2)))

    messages = sent()
    assert len(messages) == 1 and messages[0]["data"]["thing1"]["value"] == "秒杀测试"
