"""The conditions that keep money, stock and points right, each tried exactly at its edge, so
that breaking the condition fails a test (`make mutate` breaks them one at a time).

Where the condition is about a race, the race is made deterministic: the competing write is
run between the reads of a request and its transaction (see `lands_first`), never left to
threads that happen to overlap."""
import base64
import hashlib
import hmac
import json
from contextlib import contextmanager

import pytest
import requests

from tests.api.test_checkout import _coupon, _id, _sku
from tests.api.test_payments import (MCH_KEY, _notify_xml, _order, _pay_in_wechat, _place,
                                     _post, _send_notify)
from tests.api.test_refunds import _settled
from tests.conftest import (STORE_A, TEST_ENVIRONMENT, WeChatUser, body_of, new_staff,
                            sign_in, wechat_minute_passes)


@contextmanager
def lands_first(mentioning, competing):
    """The next DynamoDB transaction that names `mentioning` (an id unique to the test, or
    several words that must all be there) is sent only after `competing()` has run: whatever
    it read before is stale by then."""
    from pynamodb.transactions import TransactWrite

    send = TransactWrite._commit
    pending = [competing]

    def commit(transaction):
        items = [transaction._condition_check_items, transaction._delete_items,
                 transaction._put_items, transaction._update_items]
        sent = json.dumps(items, default=str, ensure_ascii=False)
        words = [mentioning] if isinstance(mentioning, str) else mentioning
        if pending and all(word in sent for word in words):
            pending.pop()()
        return send(transaction)

    TransactWrite._commit = commit
    try:
        yield
    finally:
        TransactWrite._commit = send
    assert not pending, "the competing write never ran: nothing named it"


def _error(response, status, code):
    assert response.status_code == status, response.body
    assert body_of(response)["error"]["code"] == code, response.body


def _key():
    return {"Idempotency-Key": _id("key")}


def _order_body(sku, quantity=1, **extra):
    return {"store_id": STORE_A, "items": [{"sku_id": sku, "quantity": quantity}], **extra}


def _balance(member_id):
    from chalicelib.members.models import Member

    return Member.get(member_id, consistent_read=True).points_balance


def _ledger(member_id):
    from chalicelib.members.points import ledger_page

    return [(e["source"], e["delta"]) for e in ledger_page(member_id, 100)["entries"]]


def _stock(sku):
    from chalicelib.catalog.stock import current

    return current(STORE_A, sku)


def _claimed_coupon(member_id):
    from chalicelib.coupons import wallet as coupons

    return coupons.claim(member_id, _coupon()["coupon_id"])["member_coupon_id"]


def _coupon_of(member_id, member_coupon_id):
    from chalicelib.coupons import wallet as coupons

    [mine] = [c for c in coupons.mine(member_id) if c["member_coupon_id"] == member_coupon_id]
    return mine["status"], mine["order_id"]


# The pay notify: every field it is checked on.

def test_a_correctly_signed_notify_for_another_app_changes_nothing(client, shopper, served_app,
                                                                    capfd):
    headers, member_id = shopper
    order = _place(client, headers, _sku(price_fen=5_000, stock=3))
    xml = _notify_xml(order["order_id"], order["total_fen"], appid="wx00000000otherapp")

    answer = _send_notify(served_app, xml)

    assert "FAIL" in answer
    seen = body_of(client.http.get(f"/orders/{order['order_id']}", headers=headers))
    assert (seen["status"], seen["pickup_code"], seen["points_earned"]) == (
        "PENDING_PAYMENT", None, None)
    assert _balance(member_id) == 0
    assert '"event": "pay_notify_rejected"' in capfd.readouterr().out
    # The same notify for this app is taken: only the appid made the difference.
    assert "SUCCESS" in _send_notify(served_app, _notify_xml(order["order_id"],
                                                             order["total_fen"]))
    assert _order(order["order_id"]).status == "PAID"


# Reconciliation: WeChat's answer is believed only for the order's own amount.

def _wechat_pay_client(sandbox_url):
    from wechatpy.pay import WeChatPay

    wechat = WeChatPay(TEST_ENVIRONMENT["WECHAT_APP_ID"], MCH_KEY,
                       TEST_ENVIRONMENT["WECHAT_MCH_ID"], timeout=5)
    wechat.API_BASE_URL = f"{sandbox_url}/"
    return wechat


def test_a_payment_wechat_reports_for_another_amount_leaves_the_order_unpaid(
        client, shopper, served_app, sandbox_url):
    """WeChat holds a paid trade under the order's number, for one fen more than the order
    (made there directly, with the merchant key). The shopper's pay finds it paid and asks
    WeChat how it stands: orderquery says SUCCESS, with another total_fee."""
    headers, member_id = shopper
    sku = _sku(price_fen=6_000, stock=3)
    order = _place(client, headers, sku)
    _wechat_pay_client(sandbox_url).order.create(
        trade_type="JSAPI", body="another amount", total_fee=order["total_fen"] + 1,
        notify_url="http://127.0.0.1:9/nowhere", client_ip="127.0.0.1", user_id="o-payer",
        out_trade_no=order["order_id"])
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay",
                         timeout=5).status_code == 200
    wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                          timeout=5).json()
    assert (wechat["trade_state"], wechat["total_fee"]) == ("SUCCESS", order["total_fen"] + 1)

    started = _post(client, f"/orders/{order['order_id']}/pay", headers)

    assert started.status_code >= 400, started.body  # not the parameters to pay again
    seen = body_of(client.http.get(f"/orders/{order['order_id']}", headers=headers))
    assert (seen["status"], seen["pickup_code"], seen["paid_at"]) == (
        "PENDING_PAYMENT", None, None)
    assert _balance(member_id) == 0 and _stock(sku) == 2


# Closing an unpaid order: only while it is still unpaid.

@pytest.mark.parametrize("points_used", [0, 300])
def test_closing_a_stale_copy_of_a_paid_order_gives_nothing_back(client, shopper, served_app,
                                                                 sandbox_url, points_used):
    """A close reads the order unpaid (and WeChat's too); the payment may land before the
    close's transaction. That transaction must then give back nothing. (Without points, the
    order's own condition is all that stands in the way.)"""
    from chalicelib.orders import closing as lifecycle, payments
    from chalicelib.members import points

    headers, member_id = shopper
    if points_used:
        points.change_points(member_id, points_used, "admin", _id("gift"))
    sku = _sku(price_fen=10_000, stock=4)
    mine = _claimed_coupon(member_id)
    order = _place(client, headers, sku, 2, member_coupon_id=mine, points=points_used)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    paid = {}

    def payment_lands():
        _pay_in_wechat(sandbox_url, order["order_id"])
        payments.reconcile(_order(order["order_id"]))
        paid.update(balance=_balance(member_id), ledger=_ledger(member_id))

    with lands_first([order["order_id"], '"expired"'], payment_lands):
        ended = lifecycle.close_unpaid(_order(order["order_id"]), "expired")
    paid_balance, paid_ledger = paid["balance"], paid["ledger"]

    assert ended.status == "PAID" and _order(order["order_id"]).status == "PAID"
    assert _stock(sku) == 2
    assert _coupon_of(member_id, mine) == ("used", order["order_id"])
    assert (_balance(member_id), _ledger(member_id)) == (paid_balance, paid_ledger)


# A member coupon pays for one order only.

def test_a_coupon_read_as_available_by_two_orders_is_used_by_one(client, shopper):
    headers, member_id = shopper
    sku = _sku(price_fen=5_000, stock=10)
    mine = _claimed_coupon(member_id)
    first = []

    def first_order():
        placed = _post(client, "/orders", headers, _order_body(sku, member_coupon_id=mine),
                       **_key())
        assert placed.status_code == 201, placed.body
        first.append(body_of(placed)["order_id"])

    with lands_first(mine, first_order):
        second = _post(client, "/orders", headers, _order_body(sku, 2, member_coupon_id=mine),
                       **_key())

    _error(second, 409, "coupon_unusable")
    assert _coupon_of(member_id, mine) == ("used", first[0])
    assert _stock(sku) == 9
    listed = body_of(client.http.get("/members/me/orders", headers=headers))["orders"]
    assert [o["order_id"] for o in listed] == first


def test_a_coupon_taken_by_another_order_meanwhile_is_refused(client, shopper):
    """Whatever took the coupon between the order's read and its transaction (another order's
    transaction, here alone: one member's own orders also meet on their holds), the order is
    refused and the coupon stays with the order that took it."""
    from chalicelib.coupons import wallet as coupons
    from chalicelib.db.base import transaction

    headers, member_id = shopper
    sku = _sku(price_fen=5_000, stock=10)
    mine = _claimed_coupon(member_id)

    def taken_meanwhile():
        with transaction() as writes:
            coupons.use_in(writes, member_id, mine, "o_taken_meanwhile")

    with lands_first(mine, taken_meanwhile):
        second = _post(client, "/orders", headers, _order_body(sku, 2, member_coupon_id=mine),
                       **_key())

    _error(second, 409, "coupon_unusable")
    assert _coupon_of(member_id, mine) == ("used", "o_taken_meanwhile")
    assert _stock(sku) == 10


# Stock never goes below zero.

def test_an_order_takes_at_most_the_stock_there_is(client, shopper):
    headers, _ = shopper
    sku = _sku(stock=2)

    _error(_post(client, "/orders", headers, _order_body(sku, 3), **_key()), 409,
           "insufficient_stock")
    assert _stock(sku) == 2
    assert _post(client, "/orders", headers, _order_body(sku, 2), **_key()).status_code == 201
    assert _stock(sku) == 0


def test_the_last_unit_read_by_two_orders_goes_to_one(client, shopper, monkeypatch):
    from tests.faults import inject, touches

    headers, _ = shopper
    other, _ = sign_in(client, WeChatUser(_id("rival")))
    sku = _sku(stock=1)

    def rival_order():
        assert _post(client, "/orders", other, _order_body(sku), **_key()).status_code == 201

    # The rival's whole order lands between this order's read of the stock and its take.
    landed = inject(monkeypatch, "UpdateItem", touches("store-stock", sku_id=sku),
                    before=rival_order)
    late = _post(client, "/orders", headers, _order_body(sku), **_key())
    assert len(landed) == 1

    _error(late, 409, "insufficient_stock")
    assert _stock(sku) == 0
    assert body_of(client.http.get("/members/me/orders", headers=headers))["orders"] == []


def test_staff_take_at_most_the_stock_there_is(client):
    clerk, _ = new_staff(client, "clerk", STORE_A)
    sku = _sku(stock=3)
    url = f"/stores/{STORE_A}/stock/{sku}/adjustments"

    _error(_post(client, url, clerk, {"delta": -4, "reason": "broken"}), 409,
           "insufficient_stock")
    assert _stock(sku) == 3
    assert _post(client, url, clerk, {"delta": -3, "reason": "broken"}).status_code == 201
    assert _stock(sku) == 0


# Points: a spend never takes more than the balance, and never from a stale balance.

def _adjust(client, admin, member_id, delta, adjustment_id=None):
    return _post(client, f"/admin/members/{member_id}/points", admin,
                 {"delta": delta, "reason": "test", "adjustment_id": adjustment_id
                  or _id("adj")})


def test_a_spend_of_one_point_more_than_the_balance_is_refused(client, shopper, admin):
    _, member_id = shopper
    assert _adjust(client, admin, member_id, 250).status_code == 201

    _error(_adjust(client, admin, member_id, -251), 409, "insufficient_points")
    assert _balance(member_id) == 250 and _ledger(member_id) == [("admin", 250)]
    assert _adjust(client, admin, member_id, -250).status_code == 201
    assert _balance(member_id) == 0


def test_an_order_spends_the_whole_balance_and_not_a_point_more(client, shopper, admin):
    headers, member_id = shopper
    assert _adjust(client, admin, member_id, 400).status_code == 201
    sku = _sku(price_fen=10_000, stock=2)

    placed = _post(client, "/orders", headers, _order_body(sku, points=401), **_key())

    assert placed.status_code == 201, placed.body
    assert body_of(placed)["breakdown"]["points"] == 400
    assert _balance(member_id) == 0


def test_two_spends_from_one_balance_read_take_it_once(client, shopper, admin):
    _, member_id = shopper
    assert _adjust(client, admin, member_id, 100).status_code == 201
    late_id = _id("adj")

    def first_spend():
        assert _adjust(client, admin, member_id, -60).status_code == 201

    with lands_first(late_id, first_spend):
        late = _adjust(client, admin, member_id, -60, late_id)

    _error(late, 409, "insufficient_points")
    assert _balance(member_id) == 40
    assert _ledger(member_id) == [("admin", -60), ("admin", 100)]


# Refunds: a unit is refunded once.

def _paid_order(client, sandbox_url, headers, sku, quantity):
    order = _place(client, headers, sku, quantity)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    _pay_in_wechat(sandbox_url, order["order_id"])
    return order


def test_two_refunds_of_the_last_unit_read_at_once_refund_it_once(
        client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    manager, _ = new_staff(client, "store_manager", STORE_A)
    sku = _sku(price_fen=3_000, stock=5)
    order = _paid_order(client, sandbox_url, headers, sku, 2)
    path = f"/stores/{STORE_A}/orders/{order['order_id']}/refunds"
    one = {"reason": "破损", "lines": [{"sku_id": sku, "quantity": 1}]}
    _error(_post(client, path, manager, {**one, "lines": [{"sku_id": sku, "quantity": 3}]}),
           409, "nothing_to_refund")
    earlier = _post(client, path, manager, one)
    assert earlier.status_code == 201, earlier.body
    assert _settled(sandbox_url, order["order_id"], body_of(earlier)["refund_id"]) == "SUCCESS"
    wechat_minute_passes(sandbox_url)
    # WeChat keeps the next refund processing, so the order stays PAID throughout.
    requests.post(f"{sandbox_url}/__sandbox__/pay/refunds/{order['order_id']}-r02/hold",
                  timeout=5)

    def first_refund():
        assert _post(client, path, manager, one).status_code == 201

    with lands_first(f"{order['order_id']}-r02", first_refund):
        late = _post(client, path, manager, one)

    # Read again, the order has r02 in flight: one refund at a time.
    _error(late, 409, "refund_in_progress")
    _error(_post(client, path, manager, one), 409, "refund_in_progress")
    refunds = body_of(client.http.get(path, headers=manager))["refunds"]
    assert [r["lines"] for r in refunds] == [[{"sku_id": sku, "quantity": 1,
                                               "refund_fen": 3_000}]] * 2
    assert _order(order["order_id"]).refunded_quantities == {sku: 2}
    wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                          timeout=5).json()
    assert len(wechat["refunds"]) == 2


# The live token: live prices only for the viewer it was signed for.

def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token):
    payload = token.partition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _payload(claims):
    return _b64(json.dumps(claims, separators=(",", ":")).encode())


def _hmac(key, message):
    return _b64(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest())


def test_a_live_token_is_good_only_with_its_own_signature(client, shopper):
    from tests.api.test_live import LIVE_PRICE, _guide, _session

    headers, member_id = shopper
    other_headers, _ = sign_in(client, WeChatUser(_id("viewer")))
    _, host = _guide(client)
    sku = _sku(price_fen=10_000, stock=10)
    session, other_session = _session(host, sku, 3), _session(host, sku, 3)

    def enter(who, live):
        entered = _post(client, f"/live-sessions/{live.session_id}/enter", who)
        assert entered.status_code == 200, entered.body
        return body_of(entered)["live_token"]

    mine, theirs = enter(headers, session), enter(other_headers, session)
    mine_elsewhere = enter(headers, other_session)
    payload = mine.partition(".")[0]
    assert _claims(mine)["m"] == member_id  # the shape the forgeries copy
    secret = TEST_ENVIRONMENT["TOKEN_SECRET"]
    theirs_made_mine = _payload({**_claims(theirs), "m": member_id})
    moved_here = _payload({**_claims(mine_elsewhere), "s": session.session_id})
    forged = {
        "another token's signature": f"{payload}.{theirs.partition('.')[2]}",
        "signed as an access token": f"{payload}.{_hmac(secret, payload)}",
        "their token made mine, signed with a guessed key":
            f"{theirs_made_mine}.{_hmac('guessed-secret', 'live-token.' + theirs_made_mine)}",
        "another session's token moved here, signed as an access token":
            f"{moved_here}.{_hmac(secret, moved_here)}",
    }
    path = f"/live-sessions/{session.session_id}/orders"
    request = {"store_id": STORE_A, "sku_id": sku, "quantity": 1}

    for name, token in forged.items():
        refused = _post(client, path, headers, {**request, "live_token": token}, **_key())
        assert refused.status_code == 403, (name, refused.body)
        assert body_of(refused)["error"]["code"] == "live_token_invalid", name
    assert body_of(client.http.get("/members/me/orders", headers=headers))["orders"] == []
    shown = body_of(client.http.get(f"/live-sessions/{session.session_id}"))
    assert shown["lineup"][0]["remaining"] == 3

    bought = _post(client, path, headers, {**request, "live_token": mine}, **_key())
    assert bought.status_code == 201, bought.body
    assert body_of(bought)["total_fen"] == LIVE_PRICE  # for the genuine token

