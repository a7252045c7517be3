"""Cart, preview and placing orders: one pricing engine, stock taken atomically, the
Idempotency-Key honoured, a coupon used by one order only."""
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, sign_in


def _id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _sku(price_fen=10_000, stock=None, store_id=STORE_A, cloud_shelf=False):
    """A fresh product with one SKU, on sale, with the given stock in the store."""
    from chalicelib.catalog import products
    from chalicelib.catalog import stock as store_stock

    sku_id = _id("sku")
    products.create_product({"product_id": _id("p"), "category_id": "cat-tea",
                             "name": "测试茶", "cloud_shelf": cloud_shelf,
                             "skus": [{"sku_id": sku_id, "base_price_fen": price_fen}]})
    if stock is not None:
        store_stock.set_quantity(store_id, sku_id, stock, "delivery", "test")
    return sku_id


def _member(points=0, level=None):
    from chalicelib.members.models import Member

    member = Member(_id("m"), openid=_id("o"), created_at=datetime.now(timezone.utc),
                    points_balance=points, assigned_level=level)
    member.save()
    return member.member_id


def _coupon(**terms):
    from chalicelib.coupons import wallet as coupons

    now = datetime.now(timezone.utc)
    return coupons.create({"name": "测试券", "kind": "fixed", "amount_fen": 1000, "total": 100,
                           "valid_from": (now - timedelta(days=1)).isoformat(),
                           "valid_until": (now + timedelta(days=1)).isoformat(), **terms})


def _order_request(sku_id, quantity=1, **extra):
    return {"store_id": STORE_A, "items": [{"sku_id": sku_id, "quantity": quantity}], **extra}


def _post(client, path, headers, body, **more):
    return client.http.post(path, headers={**headers, **JSON, **more}, body=json.dumps(body))


def test_a_cart_survives_sessions_and_prices_at_todays_price(client):
    from chalicelib.catalog import products

    shopper = WeChatUser(_id("cart"))
    first, _ = sign_in(client, shopper)
    sku = _sku(price_fen=2000, stock=5)
    _post(client, f"/cart/{STORE_A}/items", first, {"sku_id": sku, "quantity": 2})
    _post(client, f"/cart/{STORE_A}/items", first, {"sku_id": sku, "quantity": 1})
    products.update_sku(sku, {"base_price_fen": 1800})

    later, _ = sign_in(client, shopper)
    cart = body_of(client.http.get(f"/cart/{STORE_A}", headers=later))

    assert [(i["sku_id"], i["quantity"], i["price_fen"]) for i in cart["items"]] == [
        (sku, 3, 1800)]
    assert body_of(client.http.get(f"/cart/{STORE_B}", headers=later))["items"] == []
    client.http.put(f"/cart/{STORE_A}/items/{sku}", headers={**later, **JSON},
                    body=json.dumps({"quantity": 0}))
    assert body_of(client.http.get(f"/cart/{STORE_A}", headers=later))["items"] == []


def test_the_preview_adds_up_member_price_coupon_points_and_delivery(client):
    """Gold (5% off): 2 × 3,333 → 6,334 goods. Coupon 10% capped at 500 → 500 off. 1,000
    points at 100 a yuan → 1,000 fen, within half of 5,834. Delivery under 99 yuan: 800."""
    from chalicelib.coupons import wallet as coupons
    from chalicelib.mall import channel as mall

    member_id = _member(points=1_000, level="gold")
    sku = _sku(price_fen=3_333, stock=10)
    coupon = _coupon(kind="percent", percent_off=10, cap_fen=500, amount_fen=None)
    mine = coupons.claim(member_id, coupon["coupon_id"])

    breakdown = mall.preview(member_id, _order_request(
        sku, 2, fulfilment="delivery", member_coupon_id=mine["member_coupon_id"],
        points=5_000))

    assert (breakdown["list_fen"], breakdown["goods_fen"]) == (6_666, 6_334)
    assert breakdown["coupon_discount_fen"] == 500
    assert (breakdown["points"], breakdown["points_fen"]) == (1_000, 1_000)
    assert breakdown["delivery_fee_fen"] == 800
    assert breakdown["total_fen"] == 6_334 - 500 - 1_000 + 800 == 5_634
    line = breakdown["lines"][0]
    assert line["payable_fen"] == line["goods_fen"] - 500 - 1_000


def test_the_same_key_gives_the_same_order_and_another_body_is_refused(client):
    from chalicelib.catalog.stock import current

    headers, _ = sign_in(client, WeChatUser(_id("idem")))
    sku = _sku(stock=5)
    key = {"Idempotency-Key": _id("key")}

    first = _post(client, "/orders", headers, _order_request(sku, 2), **key)
    again = _post(client, "/orders", headers, _order_request(sku, 2), **key)
    other = _post(client, "/orders", headers, _order_request(sku, 3), **key)
    keyless = _post(client, "/orders", headers, _order_request(sku, 1))

    assert first.status_code == 201 and again.status_code == 201
    assert body_of(first)["order_id"] == body_of(again)["order_id"]
    assert body_of(first)["status"] == "PENDING_PAYMENT"
    assert other.status_code == 409
    assert body_of(other)["error"]["code"] == "idempotency_key_reused"
    assert keyless.status_code == 400
    assert current(STORE_A, sku) == 3


def test_two_hundred_shoppers_for_the_last_fifty_units(local_services):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import placing as orders
    from chalicelib.mall.channel import MALL
    from chalicelib.errors import DomainError

    sku = _sku(stock=50)
    members = [_member() for _ in range(40)]

    def attempt(n):
        try:
            orders.place(MALL, members[n % 40], f"k{n}", _order_request(sku))
            return "ordered"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=200) as pool:
        outcomes = list(pool.map(attempt, range(200)))

    assert outcomes.count("ordered") == 50
    assert set(outcomes) == {"ordered", "insufficient_stock"}
    assert current(STORE_A, sku) == 0


def test_two_orders_racing_for_one_coupon_one_wins(local_services):
    from chalicelib.catalog.stock import current
    from chalicelib.coupons import wallet as coupons
    from chalicelib.orders import placing as orders
    from chalicelib.mall.channel import MALL
    from chalicelib.errors import DomainError

    member_id = _member()
    sku = _sku(stock=10)
    mine = coupons.claim(member_id, _coupon()["coupon_id"])["member_coupon_id"]

    def attempt(n):
        try:
            return orders.place(MALL, member_id, f"race-{n}",
                                _order_request(sku, member_coupon_id=mine))[0].order_id
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    winners = [o for o in outcomes if o.startswith("o_")]
    assert len(winners) == 1 and set(outcomes) - set(winners) == {"coupon_unusable"}
    assert current(STORE_A, sku) == 9
    used = coupons.mine(member_id, "used")
    assert [c["order_id"] for c in used] == winners


def test_points_pay_part_of_an_order_and_the_ledger_says_so(local_services):
    from chalicelib.orders import placing as orders
    from chalicelib.mall.channel import MALL
    from chalicelib.members.models import Member
    from chalicelib.members.points import ledger_page

    member_id = _member(points=800)
    sku = _sku(price_fen=5_000, stock=3)

    order, _ = orders.place(MALL, member_id, "pts", _order_request(sku, points=800))

    assert (order.points_used, order.breakdown["points_fen"], order.total_fen) == (800, 800, 4_200)
    assert Member.get(member_id).points_balance == 0
    entry = ledger_page(member_id, 1)["entries"][0]
    assert (entry["delta"], entry["source"], entry["source_id"]) == (-800, "checkout",
                                                                     order.order_id)


def test_coupons_are_claimed_within_the_total_and_each_members_limit(local_services):
    from chalicelib.coupons import wallet as coupons
    from chalicelib.errors import DomainError

    coupon = _coupon(total=5, per_member_limit=2)["coupon_id"]
    members = [_member() for _ in range(4)]

    def claim(n):
        try:
            coupons.claim(members[n % 4], coupon)
            return "claimed"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(claim, range(16)))

    assert outcomes.count("claimed") == 5
    assert all(len(coupons.mine(m)) <= 2 for m in members)
    assert sum(len(coupons.mine(m)) for m in members) == 5


def test_a_cloud_shelf_order_takes_the_warehouses_stock(local_services):
    from chalicelib.catalog.models import CENTRAL_WAREHOUSE
    from chalicelib.catalog.stock import current
    from chalicelib.orders import placing as orders
    from chalicelib.mall.channel import MALL
    from chalicelib.errors import DomainError

    cloud = _sku(stock=4, store_id=CENTRAL_WAREHOUSE, cloud_shelf=True)
    plain = _sku(stock=4)
    member_id = _member()

    order, _ = orders.place(MALL, member_id, "cs",
                            _order_request(cloud, 3, fulfilment="cloud_shelf"))
    with pytest.raises(DomainError) as refused:
        orders.place(MALL, member_id, "cs2", _order_request(plain, 1, fulfilment="cloud_shelf"))

    assert order.stock_from == CENTRAL_WAREHOUSE and current(CENTRAL_WAREHOUSE, cloud) == 1
    assert refused.value.code == "validation_error" and current(STORE_A, plain) == 4


def _new_coupon(client, admin, **terms):
    now = datetime.now(timezone.utc)
    answer = _post(client, "/admin/coupons", admin,
                   {"name": "测试券", "kind": "fixed", "amount_fen": 500, "total": 2,
                    "valid_from": (now - timedelta(days=1)).isoformat(),
                    "valid_until": (now + timedelta(days=1)).isoformat(), **terms})
    assert answer.status_code == 201, answer.body
    return body_of(answer)


def _listed(client):
    return {c["coupon_id"] for c in body_of(client.http.get(f"/coupons?store_id={STORE_A}"))[
        "coupons"]}


def test_a_granted_coupon_is_never_listed_nor_claimed_only_granted_by_an_admin(client, admin):
    public = _new_coupon(client, admin)
    granted = _new_coupon(client, admin, visibility="granted", per_member_limit=1)
    shopper, session = sign_in(client, WeChatUser(_id("granted")))
    member_id = session["member"]["member_id"]

    assert (public["visibility"], granted["visibility"]) == ("public", "granted")
    assert public["coupon_id"] in _listed(client) and granted["coupon_id"] not in _listed(client)
    claimed = _post(client, f"/coupons/{granted['coupon_id']}/claim", shopper, {})
    assert claimed.status_code == 404
    assert body_of(claimed)["error"]["code"] == "not_found"

    given = _post(client, f"/admin/members/{member_id}/coupons", admin,
                  {"coupon_id": granted["coupon_id"]}, **{"Idempotency-Key": "grant-1"})
    again = _post(client, f"/admin/members/{member_id}/coupons", admin,
                  {"coupon_id": granted["coupon_id"]}, **{"Idempotency-Key": "grant-1"})
    beyond_limit = _post(client, f"/admin/members/{member_id}/coupons", admin,
                         {"coupon_id": granted["coupon_id"]})
    nobody = _post(client, "/admin/members/m_nosuch/coupons", admin,
                   {"coupon_id": granted["coupon_id"]})

    assert given.status_code == 201, given.body
    assert body_of(again)["member_coupon_id"] == body_of(given)["member_coupon_id"]
    assert body_of(beyond_limit)["error"]["code"] == "coupon_unavailable"
    assert nobody.status_code == 404
    mine = body_of(client.http.get("/members/me/coupons", headers=shopper))["coupons"]
    assert [c["coupon_id"] for c in mine] == [granted["coupon_id"]]
    reused = _post(client, f"/admin/members/{member_id}/coupons", admin,
                   {"coupon_id": public["coupon_id"]}, **{"Idempotency-Key": "grant-1"})
    assert body_of(reused)["error"]["code"] == "idempotency_key_reused"
    second, third = (sign_in(client, WeChatUser(_id("granted")))[1]["member"]["member_id"]
                     for _ in range(2))
    assert _post(client, f"/admin/members/{second}/coupons", admin,
                 {"coupon_id": granted["coupon_id"]}).status_code == 201
    all_given = _post(client, f"/admin/members/{third}/coupons", admin,
                      {"coupon_id": granted["coupon_id"]})
    assert body_of(all_given)["error"]["code"] == "coupon_unavailable"  # 2 of 2 given


def test_a_stores_day_of_orders_reads_in_pages_each_order_once_newest_first(client):
    """The store's day is written in several partitions of the index; its pages read them
    together: every order once, newest first, however small the page."""
    from chalicelib.mall.channel import MALL
    from chalicelib.orders import placing as orders
    from tests.conftest import new_staff

    sku = _sku(stock=20, store_id=STORE_B)
    placed = [orders.place(MALL, _member(), _id("key"), {**_order_request(sku),
                                                          "store_id": STORE_B})[0].order_id
              for _ in range(9)]
    manager, _ = new_staff(client, "store_manager", STORE_B)

    listed, cursor = [], None
    while True:
        page = body_of(client.http.get(f"/stores/{STORE_B}/orders?limit=2"
                                       + (f"&cursor={cursor}" if cursor else ""),
                                       headers=manager))
        assert len(page["orders"]) <= 2
        listed += page["orders"]
        cursor = page["next_cursor"]
        if not cursor:
            break

    ids = [order["order_id"] for order in listed]
    assert len(ids) == len(set(ids)) and set(placed) <= set(ids)
    created = [order["created_at"] for order in listed]
    assert created == sorted(created, reverse=True)
    assert [order_id for order_id in ids if order_id in placed] == placed[::-1]
    paid_only = body_of(client.http.get(f"/stores/{STORE_B}/orders?status=PAID&limit=100",
                                        headers=manager))["orders"]
    assert not {order["order_id"] for order in paid_only} & set(placed)
