"""Every route whose path names a resource, called by someone the resource is not theirs:
another member (member routes), another guide of the same store (a guide's own pages), the
manager of another store (store routes: through the other store's path, 403 at the door, and
through their own store's path naming this store's order, refund, guide, member, task, sale
or live session, 404).
Each answer is a 404 or 403 in the error shape, and nothing changes: the DynamoDB items of
every resource below, and WeChat's (the sandbox's) trades, read the same before and after.

The routes come from ROUTES. A route with a path parameter that is not classified in
OWNERSHIP fails `test_every_route_with_a_path_id_is_classified`, so a route added later is
either covered here or said to need no ownership check (and why)."""
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import requests

import app  # noqa: F401  (declares every route)
from chalicelib.api.routing import ROUTES
from tests.api.test_checkout import _coupon, _id, _sku
from tests.api.test_payments import _pay_in_wechat, _post
from tests.api.test_live import ROOM
from tests.api.test_refunds import ADDRESS, _hold, _redeem, _settle_in_wechat, _settled
from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, new_staff, sign_in


@dataclass(frozen=True)
class Theirs:
    """The path names a member's own thing (or a guide's): `intruder`, another member (or
    another guide of the same store), names the owner's."""

    intruder: str
    params: dict
    body: dict = None


@dataclass(frozen=True)
class Store:
    """A store route naming one of the store's resources besides the store. `cross`: the
    resource belongs to its store, so another store's staff naming it through their own
    store's path must not find it (False where the other ids are the brand's, e.g. a SKU:
    through their own path it is their own stock)."""

    params: dict
    body: dict = None
    cross: bool = True


@dataclass(frozen=True)
class Mine:
    """The path names nothing of anyone else: the caller's own (their cart at the store, and
    a SKU in it). The owner's cart there stays as it was, and the caller is not shown it."""

    body: dict = None


@dataclass(frozen=True)
class Shared:
    """Anyone signed in may act on it (a public promotion or coupon): no owner to protect."""

    why: str


PAID, UNPAID = "order_paid", "order_unpaid"
ORDERS = (UNPAID, PAID, "order_delivery", "order_shipped", "order_handed_over", "order_change")
SALE_TERMS = {"name": "改价", "items": [{"sku_id": "@sku", "flash_price_fen": 10_000,
                                       "quantity": 1}],
              "per_member_limit": 1, "starts_at": "@later", "ends_at": "@much_later"}

# Routes with a path parameter that need a word here. Not listed, because they classify
# themselves: /admin/ routes (an admin holds the whole brand; test_roles keeps them
# admin-only), public GETs (anyone may read them), and store routes whose only parameter is
# the store (the door case below covers them).
OWNERSHIP = {
    "GET /orders/{order_id}": Theirs("member", {"order_id": PAID}),
    "POST /orders/{order_id}/pay": Theirs("member", {"order_id": UNPAID}),
    "POST /orders/{order_id}/cancel": Theirs("member", {"order_id": UNPAID}),
    "POST /orders/{order_id}/refund": Theirs("member", {"order_id": PAID},
                                             {"reason": "不是我的"}),
    "GET /orders/{order_id}/refunds": Theirs("member", {"order_id": PAID}),
    "GET /cart/{store_id}": Mine(),
    "POST /cart/{store_id}/items": Mine({"sku_id": "@sku", "quantity": 1}),
    "PUT /cart/{store_id}/items/{sku_id}": Mine({"quantity": 2}),
    "DELETE /cart/{store_id}/items/{sku_id}": Mine(),
    "POST /coupons/{coupon_id}/claim": Shared("coupons open to claim are every member's"),
    "POST /flash-sales/{sale_id}/orders": Shared("a flash sale sells to every member"),
    "POST /flash-sales/{sale_id}/reminder": Shared("any member may ask to be reminded"),
    "POST /group-buys/{campaign_id}/groups": Shared("any member may open a group"),
    "POST /groups/{group_id}/orders": Shared("a group is joined by the link shared to anyone"),
    "POST /live-sessions/{session_id}/enter": Shared("a live room is open to every viewer"),
    "POST /live-sessions/{session_id}/reminder": Shared("any member may ask to be told"),
    "POST /live-sessions/{session_id}/orders": Shared("viewers buy with their own live token"),
    "POST /guides/me/live-sessions/{session_id}/start": Theirs("guide", {"session_id": "live"}),
    "POST /guides/me/live-sessions/{session_id}/end": Theirs("guide", {"session_id": "live"}),
    "POST /guides/me/live-sessions/{session_id}/pin": Theirs("guide", {"session_id": "live"},
                                                             {"sku_id": "@sku"}),
    "GET /guides/me/live-sessions/{session_id}/figures": Theirs("guide",
                                                                {"session_id": "live"}),
    "POST /guides/me/tasks/{task_id}/done": Theirs("guide", {"task_id": "guide_task"}),
    "POST /stores/{store_id}/stock/{sku_id}/adjustments": Store(
        {"sku_id": "sku"}, {"delta": -1, "reason": "不是我的店"}, cross=False),
    "PUT /stores/{store_id}/stock/{sku_id}": Store(
        {"sku_id": "sku"}, {"quantity": 0, "reason": "不是我的店"}, cross=False),
    "GET /stores/{store_id}/stock/{sku_id}/movements": Store({"sku_id": "sku"}, cross=False),
    "PUT /stores/{store_id}/prices/{sku_id}": Store({"sku_id": "sku"}, {"price_fen": 1},
                                                    cross=False),
    "DELETE /stores/{store_id}/prices/{sku_id}": Store({"sku_id": "sku"}, cross=False),
    "POST /stores/{store_id}/pickups": Store({}, {"code": "@pickup_code"}),
    "GET /stores/{store_id}/orders/{order_id}": Store({"order_id": PAID}),
    "POST /stores/{store_id}/orders/{order_id}/ship": Store(
        {"order_id": "order_delivery"}, {"carrier": "顺丰", "tracking_no": "SF1"}),
    "POST /stores/{store_id}/orders/{order_id}/deliver": Store({"order_id": "order_shipped"}),
    "POST /stores/{store_id}/orders/{order_id}/refunds": Store({"order_id": PAID},
                                                               {"reason": "不是我的店"}),
    "GET /stores/{store_id}/orders/{order_id}/refunds": Store({"order_id": PAID}),
    "POST /stores/{store_id}/orders/{order_id}/refunds/{refund_id}/returned": Store(
        {"order_id": "order_handed_over", "refund_id": "refund_awaiting_goods"}),
    "POST /stores/{store_id}/orders/{order_id}/refunds/{refund_id}/resolution": Store(
        {"order_id": "order_change", "refund_id": "refund_change"}, {"outcome": "settled"}),
    "POST /stores/{store_id}/live-sessions/{session_id}/approve": Store(
        {"session_id": "pending_live"}),
    "POST /stores/{store_id}/live-sessions/{session_id}/reject": Store(
        {"session_id": "pending_live"}),
    "PUT /stores/{store_id}/flash-sales/{sale_id}": Store({"sale_id": "sale"}, SALE_TERMS),
    "POST /stores/{store_id}/flash-sales/{sale_id}/end": Store({"sale_id": "sale"}),
    "POST /stores/{store_id}/guides/{guide_id}/reassign": Store(
        {"guide_id": "guide"}, {"to_guide_id": "@guide_b"}),
    "GET /stores/{store_id}/guides/{guide_id}/performance": Store({"guide_id": "guide"}),
    "POST /stores/{store_id}/members/{member_id}/tags": Store({"member_id": "owner"},
                                                              {"tag": "not-mine"}),
    "GET /stores/{store_id}/members/{member_id}/notifications": Store(
        {"member_id": "owner"}),
    "POST /stores/{store_id}/tasks/{task_id}/done": Store({"task_id": "store_task"}),
}


def _key(spec):
    return f"{spec.method} {spec.path}"


def _is_store_route(spec):
    return spec.auth.kind == "staff" and spec.auth.store_param == "store_id"


def _classified_by_itself(spec):
    if spec.auth.kind == "staff" and spec.auth.roles == ("admin",):
        return Shared("an admin holds the whole brand")
    if spec.auth.kind in ("public", "visitor") and spec.method == "GET":
        return Shared("anyone may read it")
    if _is_store_route(spec) and spec.path_params == ["store_id"]:
        return Store({})
    return None


def _with_ids(routes):
    return [spec for spec in routes if spec.path_params]


@dataclass
class Case:
    spec: object
    intruder: str
    params: dict
    body: dict = None
    status: int = 404
    mine: bool = False
    name: str = ""


def _names_a_resource(body):
    return any(str(value).startswith("@") for value in (body or {}).values())


def _cases():
    cases = []
    for spec in _with_ids(ROUTES):
        entry = OWNERSHIP.get(_key(spec)) or _classified_by_itself(spec)
        if isinstance(entry, Theirs):
            cases.append(Case(spec, entry.intruder, entry.params, entry.body))
        elif isinstance(entry, Mine):
            cases.append(Case(spec, "member", {"store_id": "store", "sku_id": "cart_sku"},
                              entry.body, 200, mine=True))
        elif isinstance(entry, Store):
            cases.append(Case(spec, "other_store", {"store_id": "store", **entry.params},
                              entry.body, 403, name="at-the-door"))
            if entry.cross and (entry.params or _names_a_resource(entry.body)):
                cases.append(Case(spec, "other_store",
                                  {"store_id": "other_store_id", **entry.params}, entry.body,
                                  404, name="through-own-store"))
    return cases


CASES = _cases()


# The world: a member of store A with orders in every state, a cart, a coupon and points;
# the guide they are bound to, hosting a live session and holding a task; the store's own
# task and flash sale. And those who try to reach it.

def _sandbox_order(sandbox_url, order_id):
    answer = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order_id}", timeout=5)
    return answer.json() if answer.status_code == 200 else None


def _place_and_pay(client, sandbox_url, headers, request, pay=True):
    placed = _post(client, "/orders", headers, {"store_id": STORE_A, **request},
                   **{"Idempotency-Key": _id("key")})
    assert placed.status_code == 201, placed.body
    order_id = body_of(placed)["order_id"]
    assert _post(client, f"/orders/{order_id}/pay", headers).status_code == 200
    if pay:
        _pay_in_wechat(sandbox_url, order_id)
        assert body_of(client.http.get(f"/orders/{order_id}", headers=headers))["status"] \
            == "PAID"
    return order_id


@pytest.fixture(scope="module")
def world(local_services, served_app):
    from chalice.test import Client

    import app as yutang
    from chalicelib.coupons import wallet as coupons
    from chalicelib.core.ids import new_id
    from chalicelib.members import points
    from chalicelib.members.models import Member
    from chalicelib.reactivation.models import Task
    from tests.api.test_flash_sales import _sale
    from tests.api.test_live import _session

    sandbox_url = local_services["sandbox"]
    with Client(yutang.app, stage_name="test") as client:
        owner_headers, owner_session = sign_in(client, WeChatUser(_id("owner")))
        owner = owner_session["member"]["member_id"]
        assert client.http.put("/members/me/store", headers={**owner_headers, **JSON},
                               body=json.dumps({"store_id": STORE_A})).status_code == 200
        Member(owner).update(actions=[Member.home_store_id.set(STORE_A)])  # the store's member
        guide_headers, guide_session = new_staff(client, "guide", STORE_A)
        guide = guide_session["member"]["member_id"]
        scene = body_of(_post(client, "/guides/me/links", guide_headers))["scene"]
        assert _post(client, "/bindings", owner_headers, {"scene": scene}).status_code == 200
        manager_a, _ = new_staff(client, "store_manager", STORE_A)
        clerk_a, _ = new_staff(client, "clerk", STORE_A)
        callers = {"member": sign_in(client, WeChatUser(_id("intruder")))[0],
                   "guide": new_staff(client, "guide", STORE_A)[0],
                   "other_store": new_staff(client, "store_manager", STORE_B)[0]}
        guide_b = new_staff(client, "guide", STORE_B)[1]["member"]["member_id"]

        sku, cart_sku = _sku(price_fen=10_000, stock=30), _sku(price_fen=2_000, stock=5)
        assert _post(client, f"/cart/{STORE_A}/items", owner_headers,
                     {"sku_id": cart_sku, "quantity": 7}).status_code == 200
        points.change_points(owner, 500, "admin", _id("gift"))
        member_coupon = coupons.claim(owner, _coupon()["coupon_id"])["member_coupon_id"]
        orders = {
            UNPAID: _place_and_pay(client, sandbox_url, owner_headers, {
                "items": [{"sku_id": sku, "quantity": 2}], "member_coupon_id": member_coupon,
                "points": 500}, pay=False),
            PAID: _place_and_pay(client, sandbox_url, owner_headers,
                                 {"items": [{"sku_id": sku, "quantity": 3}]}),
            "order_delivery": _place_and_pay(client, sandbox_url, owner_headers, {
                "items": [{"sku_id": sku, "quantity": 1}], "fulfilment": "delivery",
                "address": ADDRESS}),
            "order_shipped": _place_and_pay(client, sandbox_url, owner_headers, {
                "items": [{"sku_id": sku, "quantity": 1}], "fulfilment": "delivery",
                "address": ADDRESS}),
        }
        shipped = _post(client, f"/stores/{STORE_A}/orders/{orders['order_shipped']}/ship",
                        clerk_a, {"carrier": "顺丰", "tracking_no": "SF2"})
        assert shipped.status_code == 200, shipped.body
        refunded = _post(client, f"/stores/{STORE_A}/orders/{orders[PAID]}/refunds", manager_a,
                         {"reason": "破损", "lines": [{"sku_id": sku, "quantity": 1}]})
        assert refunded.status_code == 201, refunded.body
        assert _settled(sandbox_url, orders[PAID], body_of(refunded)["refund_id"]) == "SUCCESS"
        pickup_code = body_of(client.http.get(f"/orders/{orders[PAID]}",
                                              headers=owner_headers))["pickup_code"]
        # Goods handed over, then refunded by the store: awaited back, to be stock again.
        handed_over = orders["order_handed_over"] = _place_and_pay(
            client, sandbox_url, owner_headers, {"items": [{"sku_id": sku, "quantity": 1}]})
        assert body_of(_redeem(client, clerk_a, handed_over))["status"] == "COMPLETED"
        taken_back = body_of(_post(client, f"/stores/{STORE_A}/orders/{handed_over}/refunds",
                                   manager_a, {"reason": "退货"}))
        assert taken_back["goods_return"] == "awaited"
        assert _settled(sandbox_url, handed_over, taken_back["refund_id"]) == "SUCCESS"
        # A refund WeChat could not pay out (CHANGE): its units stay claimed until resolved.
        change = orders["order_change"] = _place_and_pay(
            client, sandbox_url, owner_headers, {"items": [{"sku_id": sku, "quantity": 1}]})
        _hold(sandbox_url, f"{change}-r01")
        stuck = body_of(_post(client, f"/orders/{change}/refund", owner_headers,
                              {"reason": "不想要了"}))
        _settle_in_wechat(sandbox_url, stuck["refund_id"], "CHANGE")
        assert _settled(sandbox_url, change, stuck["refund_id"]) == "CHANGE"
        # The guide's own session, waiting for the store's approval; at the brand's price, so
        # the store's manager may approve it.
        now = datetime.now(timezone.utc)
        pending = _post(client, "/guides/me/live-sessions", guide_headers, {
            "title": "待批直播", "room": ROOM,
            "lineup": [{"sku_id": sku, "live_price_fen": 10_000, "quantity": 2}],
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat()})
        assert pending.status_code == 201, pending.body
        assert body_of(pending)["approval"] == "pending"


    live = _session(guide, sku, 2, starts_in=timedelta(hours=1), go_live=False)
    sale = _sale(sku, quantity=2, starts_in=timedelta(hours=2))
    tasks = {}
    for name, owner_key in (("guide_task", f"guide#{guide}"), ("store_task", f"store#{STORE_A}")):
        task = Task(owner_key, new_id("tk"), member_id=owner, store_id=STORE_A,
                    guide_id=guide if name == "guide_task" else None, created_at=now)
        task.save()
        tasks[name] = task
    return {
        "callers": callers, "owner_headers": owner_headers, "sandbox_url": sandbox_url,
        "ids": {"store": STORE_A, "other_store_id": STORE_B, "owner": owner, "guide": guide,
                "guide_b": guide_b, "sku": sku, "cart_sku": cart_sku, "live": live.session_id,
                "sale": sale.sale_id, "pickup_code": pickup_code,
                "pending_live": body_of(pending)["session_id"],
                "refund_awaiting_goods": taken_back["refund_id"],
                "refund_change": stuck["refund_id"],
                "guide_task": tasks["guide_task"].task_id,
                "store_task": tasks["store_task"].task_id,
                "later": (now + timedelta(hours=3)).isoformat(),
                "much_later": (now + timedelta(hours=4)).isoformat(), **orders},
        "tasks": tasks, "member_coupon": member_coupon,
    }


def _item(model, *key):
    from pynamodb.exceptions import DoesNotExist

    try:
        return model.get(*key, consistent_read=True).serialize()
    except DoesNotExist:
        return None


def _items(model, hash_key):
    return [item.serialize() for item in model.query(hash_key, consistent_read=True)]


def snapshot(world):
    """Every item the world's resources are made of, as DynamoDB holds them, and WeChat's
    trades of its orders."""
    from chalicelib.catalog.models import StockMovement, StoreStock
    from chalicelib.mall.models import CartLine
    from chalicelib.coupons.models import MemberCoupon
    from chalicelib.orders.models import Order, PickupCode, Refund
    from chalicelib.promotions.flash.models import FlashSale
    from chalicelib.promotions.live.models import LiveSession
    from chalicelib.members.models import Member, PointsEntry, Staff
    from chalicelib.reactivation.models import Task

    ids = world["ids"]
    orders = [ids[name] for name in ORDERS]
    owner, sku = ids["owner"], ids["sku"]
    return {
        "orders": [_item(Order, order_id) for order_id in orders],
        "refunds": [_items(Refund, order_id) for order_id in orders],
        "pickup code": _item(PickupCode, f"{STORE_A}#{ids['pickup_code']}"),
        "wechat": [_sandbox_order(world["sandbox_url"], order_id) for order_id in orders],
        "stock": [_item(StoreStock, store, sku) for store in (STORE_A, STORE_B)],
        "movements": _items(StockMovement, f"{STORE_A}#{sku}"),
        "owner": _item(Member, owner),
        "points": _items(PointsEntry, owner),
        "coupons": _items(MemberCoupon, owner),
        "cart": _items(CartLine, f"{owner}#{STORE_A}"),
        "guides": [_item(Staff, guide) for guide in (ids["guide"], ids["guide_b"])],
        "live sessions": [_item(LiveSession, ids[name]) for name in ("live", "pending_live")],
        "flash sale": _item(FlashSale, ids["sale"]),
        "tasks": [_item(Task, task.owner, task.task_id) for task in world["tasks"].values()],
        "store b's task": _item(Task, f"store#{STORE_B}", ids["store_task"]),
    }


def _filled(value, ids):
    if isinstance(value, str) and value.startswith("@"):
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, ids) for v in value]
    return value


def _call(client, world, case):
    ids = world["ids"]
    url = re.sub(r"{(\w+)}", lambda m: ids[case.params[m.group(1)]], case.spec.path)
    body = json.dumps(_filled(case.body or {}, ids))
    return client.http.request(case.spec.method, url, body=body,
                               headers={**world["callers"][case.intruder], **JSON})


@pytest.mark.parametrize("case", CASES, ids=[
    f"{c.spec.method} {c.spec.path} by-{c.intruder}{' ' + c.name if c.name else ''}"
    for c in CASES])
def test_another_callers_resource_is_not_theirs_to_see_or_change(client, world, case):
    before = snapshot(world)

    response = _call(client, world, case)

    if case.mine:
        assert response.status_code in (200, 201), response.body
        assert (world["ids"]["cart_sku"], 7) not in [
            (item["sku_id"], item["quantity"]) for item in body_of(response)["items"]]
    else:
        assert response.status_code == case.status, response.body
        assert body_of(response)["error"]["code"] == \
            {403: "forbidden", 404: "not_found"}[case.status]
    assert snapshot(world) == before


def test_another_members_coupon_pays_for_nothing(client, world):
    ids = world["ids"]
    request = {"store_id": STORE_A, "items": [{"sku_id": ids["sku"], "quantity": 1}],
               "member_coupon_id": world["member_coupon"]}
    intruder = world["callers"]["member"]
    before = snapshot(world)

    previewed = _post(client, "/checkout/preview", intruder, request)
    placed = _post(client, "/orders", intruder, request, **{"Idempotency-Key": _id("key")})

    for response in (previewed, placed):
        assert response.status_code == 404, response.body
        assert body_of(response)["error"]["code"] == "not_found"
    assert snapshot(world) == before
    assert body_of(client.http.get("/members/me/orders", headers=intruder))["orders"] == []


def test_the_world_is_what_the_cases_expect(client, world):
    """The resources are in the states that make each case telling: a wrong answer would
    pay, cancel, refund, ship, deliver, restock, resolve, approve, start, tag or reassign
    something real."""
    from chalicelib.promotions.live.models import LiveSession
    from chalicelib.members.models import Member

    ids = world["ids"]
    seen = {name: body_of(client.http.get(f"/orders/{ids[name]}",
                                          headers=world["owner_headers"]))["status"]
            for name in ORDERS}
    assert seen == {UNPAID: "PENDING_PAYMENT", PAID: "PAID", "order_delivery": "PAID",
                    "order_shipped": "SHIPPED", "order_handed_over": "REFUNDED",
                    "order_change": "PAID"}
    refunds = {name: body_of(client.http.get(f"/orders/{ids[order]}/refunds",
                                             headers=world["owner_headers"]))["refunds"]
               for name, order in (("refund_awaiting_goods", "order_handed_over"),
                                   ("refund_change", "order_change"))}
    assert [(r["refund_id"], r["status"], r["goods_return"]) for r in
            refunds["refund_awaiting_goods"]] == [(ids["refund_awaiting_goods"], "SUCCESS",
                                                    "awaited")]
    assert [(r["refund_id"], r["status"]) for r in refunds["refund_change"]] == [
        (ids["refund_change"], "CHANGE")]
    owner = Member.get(ids["owner"])
    assert (owner.guide_id, owner.home_store_id) == (ids["guide"], STORE_A)
    sessions = [LiveSession.get(ids[name]) for name in ("live", "pending_live")]
    assert [(s.status, s.approval, s.stores) for s in sessions] == [
        ("SCHEDULED", "approved", [STORE_A]), ("SCHEDULED", "pending", [STORE_A])]


def test_every_route_with_a_path_id_is_classified():
    unclassified = [_key(spec) for spec in _with_ids(ROUTES)
                    if _key(spec) not in OWNERSHIP and not _classified_by_itself(spec)]
    assert unclassified == [], "say in OWNERSHIP who owns what these routes name"
    declared = {_key(spec) for spec in ROUTES}
    assert sorted(set(OWNERSHIP) - declared) == [], "OWNERSHIP names routes that are gone"
    for spec in _with_ids(ROUTES):
        entry = OWNERSHIP.get(_key(spec))
        if isinstance(entry, Shared):
            assert spec.auth.kind == "member", (_key(spec), "shared, yet staff-only")
        if isinstance(entry, Store):
            assert _is_store_route(spec), (_key(spec), "not bound to the store in its path")
        if isinstance(entry, Theirs):
            assert set(entry.params) == set(spec.path_params), _key(spec)
        if isinstance(entry, Store):
            assert set(entry.params) | {"store_id"} == set(spec.path_params), _key(spec)
