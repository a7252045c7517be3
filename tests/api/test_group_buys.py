"""Group-buy against DynamoDB Local and the WeChat sandbox: seats raced, groups completing
when the last member pays, expiring groups refunded once, seats given back."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _member, _sku
from tests.api.test_flash_sales import brand_admin
from tests.api.test_payments import _order, _pay_in_wechat, _post
from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, sign_in, subscribe

GROUP_PRICE = 5_900  # the test SKUs' brand price is 10,000; the floor is half of it


def _campaign(sku, size=3, **more):
    from chalicelib.promotions.groups import campaigns

    now = datetime.now(timezone.utc)
    return campaigns.create({"name": "三人团",
                             "items": [{"sku_id": sku, "group_price_fen": GROUP_PRICE}],
                             "group_size": size, "stores": [STORE_A], "fill_minutes": 60,
                             "per_member_limit": 1,
                             "starts_at": (now - timedelta(minutes=1)).isoformat(),
                             "ends_at": (now + timedelta(days=1)).isoformat(), **more},
                            brand_admin())


def _shopper(client):
    headers, session = sign_in(client, WeChatUser(_id("grouper")))
    return headers, session["member"]["member_id"]


def _open(client, headers, campaign, sku):
    answer = _post(client, f"/group-buys/{campaign.campaign_id}/groups", headers,
                   {"store_id": STORE_A, "sku_id": sku}, **{"Idempotency-Key": _id("k")})
    assert answer.status_code == 201, answer.body
    return body_of(answer)


def _join(client, headers, group_id):
    return _post(client, f"/groups/{group_id}/orders", headers, {},
                 **{"Idempotency-Key": _id("k")})


def _pay(client, sandbox_url, headers, order):
    assert _post(client, f"/orders/{order['order_id']}/pay", headers).status_code == 200
    _pay_in_wechat(sandbox_url, order["order_id"])


def _group_of(order_id):
    return _order(order_id).group_id


def test_30_racing_joiners_for_the_last_3_seats_give_exactly_3(client):
    from chalicelib.errors import DomainError
    from chalicelib.promotions.groups import campaigns, joining

    sku = _sku(stock=100)
    campaign = _campaign(sku, size=4)
    leader = _member()
    order, _ = joining.open_group(leader, campaign.campaign_id, _id("k"),
                                  {"store_id": STORE_A, "sku_id": sku})
    joiners = [_member() for _ in range(30)]

    def join(member_id):
        try:
            joining.join_group(member_id, order.group_id, _id("k"), {})
            return "joined"
        except DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(join, joiners))

    assert outcomes.count("joined") == 3
    assert set(outcomes) == {"joined", "group_full"}
    group = campaigns.group_with_members(order.group_id)
    assert group["seats_left"] == 0 and len(group["members"]) == 4


def test_the_group_completes_when_the_last_member_pays(client, served_app, sandbox_url):
    from chalicelib.members.models import Member

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=2)
    (leader, leader_id), (friend, friend_id) = _shopper(client), _shopper(client)
    from chalicelib.notify import service

    for member_id in (leader_id, friend_id):  # they accepted the group-result template
        subscribe(member_id, "group_result")
    opened = _open(client, leader, campaign, sku)
    assert opened["total_fen"] == GROUP_PRICE and opened["channel"] == "group_buy"
    group_id = _group_of(opened["order_id"])
    _pay(client, sandbox_url, leader, opened)
    waiting = _order(opened["order_id"])
    assert (waiting.status, waiting.pickup_code, waiting.awaiting_group) == ("PAID", None, True)
    shown = body_of(client.http.get(f"/groups/{group_id}"))
    assert shown["status"] == "OPEN" and shown["seats_left"] == 1

    joined = _join(client, friend, group_id)
    assert joined.status_code == 201, joined.body
    _pay(client, sandbox_url, friend, body_of(joined))

    shown = body_of(client.http.get(f"/groups/{group_id}"))
    assert shown["status"] == "COMPLETED" and [m["paid"] for m in shown["members"]] == [True,
                                                                                         True]
    codes = [_order(o).pickup_code for o in (opened["order_id"], body_of(joined)["order_id"])]
    assert all(code and len(code) == 6 for code in codes)
    service.run_job()  # the notifications job sends the queued messages
    openids = [Member.get(m).openid for m in (leader_id, friend_id)]
    for openid in openids:
        sent = requests.get(f"{sandbox_url}/__sandbox__/messages", params={"touser": openid},
                            timeout=5).json()
        assert [m["data"]["phrase2"]["value"] for m in sent] == ["拼团成功"]


def test_an_expired_group_refunds_every_paid_member_once(client, served_app, sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.groups import campaigns, completion as life

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=3)
    (leader, _), (friend, _), (slow, _) = _shopper(client), _shopper(client), _shopper(client)
    opened = _open(client, leader, campaign, sku)
    group_id = _group_of(opened["order_id"])
    joined = body_of(_join(client, friend, group_id))
    unpaid = body_of(_join(client, slow, group_id))
    for headers, order in ((leader, opened), (friend, joined)):
        _pay(client, sandbox_url, headers, order)
    assert current(STORE_A, sku) == 7

    after = FixedClock(campaigns.get_group(group_id).expires_at + timedelta(minutes=1))
    life.run_job(clock=after)
    life.run_job(clock=after)  # again: nobody is refunded twice

    assert campaigns.get_group(group_id).status == "FAILED"
    for order in (opened, joined):
        wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                              timeout=5).json()
        assert len(wechat["refunds"]) == 1 and wechat["refunded_fee"] == order["total_fen"]
    assert _order(unpaid["order_id"]).status == "CLOSED"
    _wait_for_stock(current, sku, 10)


def _wait_for_stock(current, sku, expected):
    from tests.api.test_payments import _wait_for

    _wait_for(lambda: current(STORE_A, sku) == expected)


def test_a_refund_from_an_open_group_frees_the_seat(client, served_app, sandbox_url):
    from chalicelib.promotions.groups import campaigns

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=3)
    (leader, _), (friend, _), (third, _) = _shopper(client), _shopper(client), _shopper(client)
    opened = _open(client, leader, campaign, sku)
    group_id = _group_of(opened["order_id"])
    joined = body_of(_join(client, friend, group_id))
    _pay(client, sandbox_url, friend, joined)
    assert campaigns.get_group(group_id).seats_taken == 2

    refunded = _post(client, f"/orders/{joined['order_id']}/refund", friend, {"reason": "不拼了"})

    assert refunded.status_code == 201, refunded.body
    group = campaigns.get_group(group_id)
    assert (group.seats_taken, group.paid, group.status) == (1, 0, "OPEN")
    assert _join(client, third, group_id).status_code == 201


def test_an_unpaid_seat_is_given_back(client):
    from chalicelib.orders import closing as lifecycle
    from chalicelib.promotions.groups import campaigns, joining

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=2)
    order, _ = joining.open_group(_member(), campaign.campaign_id, _id("k"),
                                  {"store_id": STORE_A, "sku_id": sku})
    joined, _ = joining.join_group(_member(), order.group_id, _id("k"), {})
    assert campaigns.get_group(order.group_id).seats_taken == 2

    lifecycle.close_unpaid(joined, "expired", clock=FixedClock(joined.pay_by))

    assert campaigns.get_group(order.group_id).seats_taken == 1
    joining.join_group(_member(), order.group_id, _id("k"), {})


def test_a_new_customers_group_refuses_returning_shoppers(client):
    from chalicelib.errors import DomainError
    from chalicelib.promotions.groups import joining
    from chalicelib.members.models import Member

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=3, new_customers_only=True)
    order, _ = joining.open_group(_member(), campaign.campaign_id, _id("k"),
                                  {"store_id": STORE_A, "sku_id": sku})
    returning = _member()
    Member(returning).update(actions=[Member.orders_count.set(3)])
    try:
        joining.join_group(returning, order.group_id, _id("k"), {})
        raise AssertionError("a returning shopper joined a new-customers group")
    except DomainError as refusal:
        assert refusal.code == "group_buy_new_customers_only"
    joining.join_group(_member(), order.group_id, _id("k"), {})


def test_shoppers_find_campaigns_with_open_groups(client, admin):
    sku = _sku(stock=10)
    now = datetime.now(timezone.utc)
    created = client.http.post("/admin/group-buys", headers={**admin, **JSON}, body=json.dumps({
        "name": "两人团", "items": [{"sku_id": sku, "group_price_fen": GROUP_PRICE}],
        "group_size": 2, "stores": [STORE_A],
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat()}))
    assert created.status_code == 201, created.body
    campaign_id = body_of(created)["campaign_id"]
    leader, _ = _shopper(client)
    answer = _post(client, f"/group-buys/{campaign_id}/groups", leader,
                   {"store_id": STORE_A, "sku_id": sku}, **{"Idempotency-Key": "g-1"})
    group_id = _group_of(body_of(answer)["order_id"])

    listed = body_of(client.http.get(f"/group-buys?store_id={STORE_A}"))["group_buys"]
    mine = next(c for c in listed if c["campaign_id"] == campaign_id)
    assert [g["group_id"] for g in mine["open_groups"]] == [group_id]
    assert campaign_id not in [c["campaign_id"] for c in body_of(client.http.get(
        f"/group-buys?store_id={STORE_B}"))["group_buys"]]
