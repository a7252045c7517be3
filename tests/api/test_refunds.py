"""After payment: delivery, refunds through WeChat (the sandbox, through wechatpy) with their
result notifies, and guides' commissions settling after the return window."""
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _coupon, _id, _sku
from tests.api.test_payments import (MCH_KEY, _order, _pay_in_wechat, _place, _post,
                                     _wait_for, _wechat_order)
from tests.conftest import (STORE_A, STORE_B, TEST_ENVIRONMENT, WeChatUser, body_of, new_staff,
                            sign_in, wechat_minute_passes)

ADDRESS = {"name": "张三", "phone": "13800000000", "address": "上海市黄浦区马当路 1 号"}


def _paid(client, sandbox_url, headers, sku, quantity=1, **extra):
    order = _place(client, headers, sku, quantity, **extra)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    _pay_in_wechat(sandbox_url, order["order_id"])
    assert _order(order["order_id"]).status == "PAID"
    return order


def _refund_status(order_id, refund_id):
    from chalicelib.orders.models import Refund

    return Refund.get(order_id, refund_id, consistent_read=True).status


def _settled(sandbox_url, order_id, refund_id):
    """Waits until WeChat's refund notify has been answered (all it sets off is done then)."""
    _wait_for(lambda: any(
        attempt["delivered"] and attempt.get("out_refund_no") == refund_id
        for attempt in requests.get(f"{sandbox_url}/__sandbox__/pay/notifies",
                                    params={"out_trade_no": order_id}, timeout=5).json()))
    return _refund_status(order_id, refund_id)


def _bound_to_new_guide(client, member_id, store_id=STORE_A):
    from chalicelib.members.models import Member

    guide_headers, guide_session = new_staff(client, "guide", store_id)
    guide_id = guide_session["member"]["member_id"]
    Member(member_id).update(actions=[Member.guide_id.set(guide_id)])
    return guide_headers, guide_id


def test_a_shopper_refunds_a_paid_order_and_everything_comes_back(client, shopper, served_app,
                                                                   sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.coupons import wallet as coupons
    from chalicelib.guides import commissions as attribution
    from chalicelib.members import points
    from chalicelib.members.models import Member

    headers, member_id = shopper
    _, guide_id = _bound_to_new_guide(client, member_id)
    points.change_points(member_id, 300, "admin", _id("gift"))
    sku = _sku(price_fen=10_000, stock=5)
    mine = coupons.claim(member_id, _coupon()["coupon_id"])["member_coupon_id"]
    order = _paid(client, sandbox_url, headers, sku, 2, member_coupon_id=mine, points=300)
    assert order["total_fen"] == 20_000 - 1_000 - 300
    paid_member = Member.get(member_id)
    assert paid_member.points_balance == 187 and paid_member.growth == 187
    assert current(STORE_A, sku) == 3

    asked = _post(client, f"/orders/{order['order_id']}/refund", headers,
                  {"reason": "不想要了"})

    assert asked.status_code == 201, asked.body
    refund = body_of(asked)
    assert refund["refund_fen"] == order["total_fen"] and refund["points"] == 300
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert current(STORE_A, sku) == 5
    assert [c["status"] for c in coupons.mine(member_id)] == ["available"]
    member = Member.get(member_id)
    assert (member.points_balance, member.growth) == (300, 0)
    month = attribution.month_of(datetime.now(timezone.utc))
    assert attribution.month_totals(guide_id, month)["commission_fen"] == 0
    assert _wechat_order(sandbox_url, order["order_id"])["refunded_fee"] == order["total_fen"]
    listed = body_of(client.http.get(f"/orders/{order['order_id']}/refunds", headers=headers))
    assert [r["status"] for r in listed["refunds"]] == ["SUCCESS"]
    again = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "再退"})
    assert again.status_code == 409


def test_the_store_refunds_units_and_the_refunds_add_up_to_what_was_paid(
        client, shopper, served_app, sandbox_url):
    from chalicelib.coupons import wallet as coupons

    headers, member_id = shopper
    tea, cake = _sku(price_fen=3_333, stock=10), _sku(price_fen=1_001, stock=10)
    mine = coupons.claim(member_id, _coupon(kind="percent", amount_fen=None, percent_off=17)
                         ["coupon_id"])["member_coupon_id"]
    placed = _post(client, "/orders", headers,
                   {"store_id": STORE_A, "member_coupon_id": mine,
                    "items": [{"sku_id": tea, "quantity": 3}, {"sku_id": cake, "quantity": 2}]},
                   **{"Idempotency-Key": _id("key")})
    order = body_of(placed)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    _pay_in_wechat(sandbox_url, order["order_id"])
    manager, _ = new_staff(client, "store_manager", STORE_A)
    path = f"/stores/{STORE_A}/orders/{order['order_id']}/refunds"

    clerk, _ = new_staff(client, "clerk", STORE_A)
    other_manager, _ = new_staff(client, "store_manager", STORE_B)
    one_tea = {"reason": "破损", "lines": [{"sku_id": tea, "quantity": 1}]}
    assert _post(client, path, clerk, one_tea).status_code == 403
    assert _post(client, path, other_manager, one_tea).status_code == 403
    too_many = {"reason": "x", "lines": [{"sku_id": tea, "quantity": 4}]}
    assert _post(client, path, manager, too_many).status_code == 409

    amounts = []
    for body in (one_tea, {"reason": "破损", "lines": [{"sku_id": tea, "quantity": 2},
                                                     {"sku_id": cake, "quantity": 1}]},
                 {"reason": "整单退"}):
        answer = _post(client, path, manager, body)
        assert answer.status_code == 201, answer.body
        amounts.append(body_of(answer)["refund_fen"])
        _settled(sandbox_url, order["order_id"], body_of(answer)["refund_id"])  # one at a time
        wechat_minute_passes(sandbox_url)

    assert sum(amounts) == order["total_fen"]
    refunds = body_of(client.http.get(path, headers=manager))["refunds"]
    assert [r["refund_fen"] for r in refunds] == amounts
    assert {_settled(sandbox_url, order["order_id"], r["refund_id"]) for r in refunds} \
        == {"SUCCESS"}
    assert _order(order["order_id"]).status == "REFUNDED"
    assert _wechat_order(sandbox_url, order["order_id"])["refunded_fee"] == order["total_fen"]
    assert _post(client, path, manager, {"reason": "again"}).status_code == 409


def _refund_notify_xml(order_id, refund_id, refund_fee, total_fee, key=MCH_KEY,
                       status="SUCCESS"):
    """A refund result notify as WeChat encrypts it (AES-256-ECB, key = md5 of the merchant
    key), built with wechatpy's own crypto."""
    import base64
    import hashlib

    from wechatpy.crypto import RefundCrypto

    root = (f"<root><out_refund_no>{refund_id}</out_refund_no>"
            f"<out_trade_no>{order_id}</out_trade_no><refund_fee>{refund_fee}</refund_fee>"
            f"<total_fee>{total_fee}</total_fee><refund_status>{status}</refund_status>"
            f"<refund_id>50300{uuid.uuid4().int % 10 ** 20:020d}</refund_id>"
            f"<success_time>2026-11-27 12:00:00</success_time></root>")
    crypto = RefundCrypto(hashlib.md5(key.encode()).hexdigest().encode())
    req_info = crypto.encrypt(root)
    if isinstance(req_info, bytes):
        req_info = req_info.decode()
    assert base64.b64decode(req_info)
    return (f"<xml><return_code>SUCCESS</return_code>"
            f"<appid>{TEST_ENVIRONMENT['WECHAT_APP_ID']}</appid>"
            f"<mch_id>{TEST_ENVIRONMENT['WECHAT_MCH_ID']}</mch_id>"
            f"<nonce_str>{uuid.uuid4().hex}</nonce_str><req_info>{req_info}</req_info></xml>")


def _post_refund_notify(app_url, xml):
    answer = requests.post(f"{app_url}/wechat/pay/refund-notify", data=xml.encode(),
                           headers={"Content-Type": "text/xml"}, timeout=10)
    assert answer.status_code == 200
    return answer.text


def _held_refund(client, sandbox_url, headers, order, monkeypatch):
    """A refund WeChat accepted but whose result has not come: its notify goes nowhere."""
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")
    asked = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "x"})
    assert asked.status_code == 201, asked.body
    return body_of(asked)


def test_a_refund_notify_five_times_at_once_gives_back_once(client, shopper, served_app,
                                                             sandbox_url, monkeypatch):
    from chalicelib.catalog.stock import current
    from chalicelib.members import points
    from chalicelib.members.models import Member

    headers, member_id = shopper
    points.change_points(member_id, 200, "admin", _id("gift"))
    sku = _sku(price_fen=5_000, stock=4)
    order = _paid(client, sandbox_url, headers, sku, 2, points=200)
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    xml = _refund_notify_xml(order["order_id"], refund["refund_id"], refund["refund_fen"],
                             order["total_fen"])

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: _post_refund_notify(served_app, xml), range(5)))

    assert all("SUCCESS" in answer for answer in answers), answers
    assert _refund_status(order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert current(STORE_A, sku) == 4
    member = Member.get(member_id)
    assert (member.points_balance, member.growth) == (200, 0)


@pytest.mark.parametrize("forgery", ["wrong_key", "wrong_amount", "unknown_refund"])
def test_a_refund_notify_that_does_not_check_out_changes_nothing(
        client, shopper, served_app, sandbox_url, monkeypatch, forgery, capfd):
    from chalicelib.catalog.stock import current

    headers, _ = shopper
    sku = _sku(price_fen=5_000, stock=2)
    order = _paid(client, sandbox_url, headers, sku)
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    arguments = {"wrong_key": dict(key="k" * 32), "wrong_amount": dict(refund_fee=1),
                 "unknown_refund": dict(refund_id=order["order_id"] + "-r99")}[forgery]
    xml = _refund_notify_xml(**{"order_id": order["order_id"], "refund_id": refund["refund_id"],
                                "refund_fee": refund["refund_fen"],
                                "total_fee": order["total_fen"], **arguments})

    assert "FAIL" in _post_refund_notify(served_app, xml)
    assert _refund_status(order["order_id"], refund["refund_id"]) == "PROCESSING"
    assert current(STORE_A, sku) == 1
    assert '"event": "refund_notify_rejected"' in capfd.readouterr().out


def test_a_refund_whose_notify_is_lost_is_settled_by_the_refunds_job(
        client, shopper, served_app, sandbox_url, monkeypatch):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    _wait_for(lambda: _wechat_order(sandbox_url, order["order_id"])["refunds"][0]["status"]
              == "SUCCESS")
    assert _refund_status(order["order_id"], refund["refund_id"]) == "PROCESSING"

    assert refunds.follow_up() >= 1

    assert _refund_status(order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert current(STORE_A, sku) == 3
    refunds.follow_up()
    assert current(STORE_A, sku) == 3


def test_a_refund_wechat_gives_up_on_frees_its_units_for_another(
        client, shopper, served_app, sandbox_url, monkeypatch):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    requests.post(f"{sandbox_url}/__sandbox__/pay/refunds/{order['order_id']}-r01/hold",
                  timeout=5)
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/refunds/{refund['refund_id']}/settle",
                         json={"result": "REFUNDCLOSE"}, timeout=5).status_code == 200

    refunds.follow_up()

    assert _refund_status(order["order_id"], refund["refund_id"]) == "FAILED"
    assert _order(order["order_id"]).refunded_quantities == {sku: 0}
    assert current(STORE_A, sku) == 2  # the goods were not given back
    monkeypatch.delenv("PUBLIC_API_URL")
    monkeypatch.setenv("PUBLIC_API_URL", served_app)
    wechat_minute_passes(sandbox_url)
    second = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "再试"})
    assert second.status_code == 201 and body_of(second)["refund_id"].endswith("-r02")
    assert _settled(sandbox_url, order["order_id"], body_of(second)["refund_id"]) == "SUCCESS"
    assert current(STORE_A, sku) == 3


def test_at_most_50_refunds_and_none_after_a_year(client, shopper, served_app, sandbox_url,
                                                  monkeypatch):
    from chalicelib.orders import refunds
    from chalicelib.errors import DomainError

    monkeypatch.setenv("MAX_PENDING_UNITS_PER_SKU", "51")  # one order of 51 units
    headers, member_id = shopper
    sku = _sku(price_fen=100, stock=60)
    order = _paid(client, sandbox_url, headers, sku, 51)
    a_year_on = FixedClock(datetime.now(timezone.utc) + timedelta(days=366))
    with pytest.raises(DomainError) as too_late:
        refunds.request(order["order_id"], None, "late", "test", clock=a_year_on)
    assert too_late.value.code == "refund_not_allowed"

    for _ in range(50):
        refund = refunds.request(order["order_id"], {sku: 1}, "one by one", "test")
        _settled(sandbox_url, order["order_id"], refund.refund_id)  # one at a time
        wechat_minute_passes(sandbox_url)
    with pytest.raises(DomainError) as too_many:
        refunds.request(order["order_id"], {sku: 1}, "the 51st", "test")

    assert too_many.value.code == "refund_not_allowed"
    assert _order(order["order_id"]).refunded_fen == 50 * 100


def test_staff_ship_and_deliver_a_delivery_order(client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    sku = _sku(price_fen=3_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku, fulfilment="delivery", address=ADDRESS)
    assert order["total_fen"] == 3_000 + 800
    clerk, _ = new_staff(client, "clerk", STORE_A)
    other_clerk, _ = new_staff(client, "clerk", STORE_B)
    base = f"/stores/{STORE_A}/orders/{order['order_id']}"
    shipment = {"carrier": "顺丰", "tracking_no": "SF1234567890"}

    assert _post(client, base + "/ship", other_clerk, shipment).status_code == 403
    assert _post(client, base + "/deliver", clerk).status_code == 409  # not shipped yet
    shipped = _post(client, base + "/ship", clerk, shipment)
    assert shipped.status_code == 200 and body_of(shipped)["status"] == "SHIPPED"
    mine = body_of(client.http.get(f"/orders/{order['order_id']}", headers=headers))
    assert mine["delivery"]["tracking_no"] == "SF1234567890" and mine["shipped_at"]
    assert _post(client, f"/orders/{order['order_id']}/refund", headers,
                 {"reason": "x"}).status_code == 409  # shipped: the store refunds it
    delivered = _post(client, base + "/deliver", clerk)
    assert body_of(delivered)["status"] == "COMPLETED"
    assert _post(client, base + "/ship", clerk, shipment).status_code == 409

    manager, _ = new_staff(client, "store_manager", STORE_A)
    returned = _post(client, base + "/refunds", manager, {"reason": "退货"})
    assert body_of(returned)["refund_fen"] == 3_000  # the delivery was made: its fee stays


def test_a_pickup_order_cannot_be_shipped(client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    order = _paid(client, sandbox_url, headers, _sku(stock=1))
    clerk, _ = new_staff(client, "clerk", STORE_A)
    answer = _post(client, f"/stores/{STORE_A}/orders/{order['order_id']}/ship", clerk, {})
    assert answer.status_code == 409
    assert body_of(answer)["error"]["code"] == "order_not_shippable"


def test_a_recruiting_guide_earns_a_second_level_never_a_third(client, shopper, served_app,
                                                                sandbox_url):
    from chalicelib.guides.models import GuideSale

    headers, member_id = shopper
    first, first_session = new_staff(client, "guide", STORE_A)
    recruits = [(first, first_session["member"]["member_id"])]
    for _ in range(2):  # first recruits second, second recruits third
        code = body_of(_post(client, "/guides/me/invites", recruits[-1][0],
                             {"name": "新导购"}))["code"]
        recruit_headers, session = sign_in(client, WeChatUser(_id("recruit")))
        claimed = _post(client, "/staff/invites/claim", recruit_headers, {"code": code})
        assert body_of(claimed)["role"] == "guide" and body_of(claimed)["store_id"] == STORE_A
        recruits.append((recruit_headers, session["member"]["member_id"]))
    (_, first_id), (_, second_id), (_, third_id) = recruits
    from chalicelib.members.models import Member

    Member(member_id).update(actions=[Member.guide_id.set(third_id)])

    order = _paid(client, sandbox_url, headers, _sku(price_fen=10_000, stock=1))

    earned = {guide: [(s.tier, s.commission_fen) for s in GuideSale.query(guide)
                      if s.order_id == order["order_id"]]
              for guide in (first_id, second_id, third_id)}
    assert earned == {third_id: [(1, 300)], second_id: [(2, 100)], first_id: []}


def test_commissions_settle_after_the_return_window_once(client, shopper, served_app,
                                                          sandbox_url):
    from chalicelib.guides import commissions as attribution, settlement
    from chalicelib.db import cursors

    headers, member_id = shopper
    _, guide_id = _bound_to_new_guide(client, member_id)
    kept = _paid(client, sandbox_url, headers, _sku(price_fen=10_000, stock=1))
    halved = _paid(client, sandbox_url, headers, _sku(price_fen=5_000, stock=2), 2)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    halved_sku = halved["breakdown"]["lines"][0]["sku_id"]
    refund = _post(client, f"/stores/{STORE_A}/orders/{halved['order_id']}/refunds", manager,
                   {"reason": "退一件", "lines": [{"sku_id": halved_sku, "quantity": 1}]})
    assert _settled(sandbox_url, halved["order_id"], body_of(refund)["refund_id"]) == "SUCCESS"
    cursors.forget(settlement.JOB)
    now = datetime.now(timezone.utc)
    month = attribution.month_of(now)

    settlement.run(FixedClock(now))  # inside the return window: nothing settles
    assert attribution.month_totals(guide_id, month)["settled_fen"] == 0
    window_over = FixedClock(now + timedelta(days=8))
    settled, _ = settlement.run(window_over)
    assert settled >= 2 and settlement.run(window_over) == (0, 0)

    totals = attribution.month_totals(guide_id, month)
    assert (totals["commission_fen"], totals["settled_fen"]) == (300 + 150, 450)
    assert [sale["settled"] for sale in attribution.sales(guide_id, month, 10, None)
            ["orders"]] == [True, True]
    # A return after settlement: the commission it had is owed back.
    late = _post(client, f"/stores/{STORE_A}/orders/{kept['order_id']}/refunds", manager,
                 {"reason": "退货"})
    assert _settled(sandbox_url, kept["order_id"], body_of(late)["refund_id"]) == "SUCCESS"
    totals = attribution.month_totals(guide_id, month)
    assert (totals["commission_fen"], totals["settled_fen"]) == (150, 450)


def _hold(sandbox_url, refund_id):
    """WeChat keeps the refund PROCESSING (as a bank-card refund takes days) until settled."""
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/refunds/{refund_id}/hold",
                         timeout=5).status_code == 200


def _settle_in_wechat(sandbox_url, refund_id, result="SUCCESS"):
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/refunds/{refund_id}/settle",
                         json={"result": result}, timeout=5).status_code == 200


def _redeem(client, clerk, order_id):
    return _post(client, f"/stores/{STORE_A}/pickups", clerk,
                 {"code": _order(order_id).pickup_code})


def _movements(sku):
    from chalicelib.catalog.models import StockMovement

    return [(m.delta, m.reason) for m in StockMovement.query(f"{STORE_A}#{sku}")]


def test_while_a_refund_is_in_flight_the_goods_stay_and_come_back_to_stock_once(
        client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=6_800, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    code = _order(order["order_id"]).pickup_code
    _hold(sandbox_url, f"{order['order_id']}-r01")
    asked = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "不想要了"})
    assert asked.status_code == 201, asked.body
    refund = body_of(asked)
    assert refund["status"] == "PROCESSING"
    clerk, _ = new_staff(client, "clerk", STORE_A)

    refused = _redeem(client, clerk, order["order_id"])

    assert refused.status_code == 409, refused.body
    assert body_of(refused)["error"]["code"] == "refund_in_progress"
    assert _order(order["order_id"]).status == "PAID" and current(STORE_A, sku) == 2
    _settle_in_wechat(sandbox_url, refund["refund_id"])
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert current(STORE_A, sku) == 3
    # A repeated notify and the refunds job give nothing more back.
    _post_refund_notify(served_app, _refund_notify_xml(
        order["order_id"], refund["refund_id"], refund["refund_fen"], order["total_fen"]))
    refunds.follow_up()
    assert current(STORE_A, sku) == 3
    assert [delta for delta, reason in _movements(sku) if "refund" in reason] == [1]
    assert _post(client, f"/stores/{STORE_A}/pickups", clerk, {"code": code}).status_code \
        == 404


def test_goods_handed_over_go_back_to_stock_only_when_staff_confirm_their_return(
        client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current

    headers, _ = shopper
    sku = _sku(price_fen=6_800, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    clerk, clerk_session = new_staff(client, "clerk", STORE_A)
    handed = _redeem(client, clerk, order["order_id"])
    assert body_of(handed)["status"] == "COMPLETED"

    mine = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "x"})
    assert mine.status_code == 409 and body_of(mine)["error"]["code"] == "refund_not_allowed"
    manager, _ = new_staff(client, "store_manager", STORE_A)
    asked = _post(client, f"/stores/{STORE_A}/orders/{order['order_id']}/refunds", manager,
                  {"reason": "退货"})
    assert asked.status_code == 201, asked.body
    refund = body_of(asked)
    assert refund["goods_return"] == "awaited"
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert current(STORE_A, sku) == 2  # the money went back; the goods are not here yet

    path = (f"/stores/{STORE_A}/orders/{order['order_id']}/refunds/{refund['refund_id']}"
            f"/returned")
    other_clerk, _ = new_staff(client, "clerk", STORE_B)
    assert _post(client, path, other_clerk).status_code == 403
    assert _post(client, path, headers).status_code == 403
    assert _post(client, path.replace(refund["refund_id"], "nosuch"), clerk).status_code == 404
    confirmed = _post(client, path, clerk)

    assert confirmed.status_code == 200, confirmed.body
    assert body_of(confirmed)["goods_return"] == "returned"
    assert current(STORE_A, sku) == 3
    assert (1, f"return of refund {refund['refund_id']}") in _movements(sku)
    again = _post(client, path, clerk)
    assert again.status_code == 409 and current(STORE_A, sku) == 3


def test_a_shopper_refund_that_loses_the_race_to_a_redeem_is_refused(
        client, shopper, served_app, sandbox_url, monkeypatch):
    """The clerk redeems between the refund's read of the order and its write: the write
    must see it."""
    from chalicelib.catalog.stock import current
    from chalicelib.orders import fulfilment
    from chalicelib.orders.models import Refund
    from tests.faults import inject, touches

    headers, _ = shopper
    sku = _sku(stock=2)
    order = _paid(client, sandbox_url, headers, sku)
    code = _order(order["order_id"]).pickup_code
    _, clerk_session = new_staff(client, "clerk", STORE_A)
    handed = []
    inject(monkeypatch, "TransactWriteItems", touches("refunds"),
           before=lambda: handed.append(fulfilment.redeem(
               STORE_A, code, clerk_session["member"]["member_id"])))

    asked = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "x"})

    assert [o.status for o in handed] == ["COMPLETED"]
    assert asked.status_code == 409, asked.body
    assert body_of(asked)["error"]["code"] == "refund_not_allowed"
    assert list(Refund.query(order["order_id"])) == []
    assert _order(order["order_id"]).status == "COMPLETED" and current(STORE_A, sku) == 1


def test_a_delivery_order_does_not_ship_while_a_refund_of_it_is_in_flight(
        client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    sku = _sku(price_fen=3_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku, 2, fulfilment="delivery", address=ADDRESS)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    clerk, _ = new_staff(client, "clerk", STORE_A)
    _hold(sandbox_url, f"{order['order_id']}-r01")
    base = f"/stores/{STORE_A}/orders/{order['order_id']}"
    refund = body_of(_post(client, base + "/refunds", manager,
                           {"reason": "少一件", "lines": [{"sku_id": sku, "quantity": 1}]}))
    shipment = {"carrier": "顺丰", "tracking_no": "SF1234567890"}

    refused = _post(client, base + "/ship", clerk, shipment)

    assert refused.status_code == 409
    assert body_of(refused)["error"]["code"] == "refund_in_progress"
    _settle_in_wechat(sandbox_url, refund["refund_id"])
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert body_of(_post(client, base + "/ship", clerk, shipment))["status"] == "SHIPPED"


def test_a_refund_of_an_order_waits_until_its_refund_in_flight_has_settled(
        client, shopper, served_app, sandbox_url):
    """Had the rest been refunded beside a unit in flight, the order would be REFUNDED on the
    rest's success, and the unit, if its refund then failed, neither refunded nor to be had
    (its pickup code gone); amounts planned on units that came back could refund a fen
    more than was paid."""
    headers, _ = shopper
    sku = _sku(price_fen=3_333, stock=3)
    order = _paid(client, sandbox_url, headers, sku, 3)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    path = f"/stores/{STORE_A}/orders/{order['order_id']}/refunds"
    _hold(sandbox_url, f"{order['order_id']}-r01")
    one = body_of(_post(client, path, manager, {"reason": "破损",
                                                "lines": [{"sku_id": sku, "quantity": 1}]}))

    for refused in (_post(client, path, manager, {"reason": "整单退"}),
                    _post(client, f"/orders/{order['order_id']}/refund", headers,
                          {"reason": "不要了"})):
        assert refused.status_code == 409, refused.body
        assert body_of(refused)["error"]["code"] == "refund_in_progress"
    assert _order(order["order_id"]).refunded_quantities == {sku: 1}

    _settle_in_wechat(sandbox_url, one["refund_id"], "REFUNDCLOSE")
    assert _settled(sandbox_url, order["order_id"], one["refund_id"]) == "FAILED"
    assert _order(order["order_id"]).status == "PAID"
    wechat_minute_passes(sandbox_url)
    rest = body_of(_post(client, path, manager, {"reason": "整单退"}))
    assert rest["refund_fen"] == order["total_fen"]
    assert _settled(sandbox_url, order["order_id"], rest["refund_id"]) == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert _wechat_order(sandbox_url, order["order_id"])["refunded_fee"] == order["total_fen"]


def test_a_refund_within_a_minute_of_the_orders_last_waits_for_the_refunds_job(
        client, shopper, served_app, sandbox_url):
    """WeChat takes one refund of an order a minute (FREQUENCY_LIMITED before): one asked for
    sooner is told REQUESTED, stays so, and goes through when the refunds job asks again
    after the minute."""
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=2_500, stock=2)
    order = _paid(client, sandbox_url, headers, sku, 2)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    path = f"/stores/{STORE_A}/orders/{order['order_id']}/refunds"
    one = {"reason": "破损", "lines": [{"sku_id": sku, "quantity": 1}]}
    first = body_of(_post(client, path, manager, one))
    assert _settled(sandbox_url, order["order_id"], first["refund_id"]) == "SUCCESS"
    requests.post(f"{sandbox_url}/__sandbox__/clock/advance", json={"seconds": 1},
                  timeout=5).raise_for_status()

    second = _post(client, path, manager, one)

    assert second.status_code == 201, second.body
    refund = body_of(second)
    assert (refund["status"], refund["refund_fen"]) == ("REQUESTED", 2_500)
    assert requests.get(f"{sandbox_url}/__sandbox__/pay/refunds/{refund['refund_id']}",
                        timeout=5).status_code == 404  # WeChat did not take it
    refunds.follow_up()  # still within the minute: refused again, still open
    assert _refund_status(order["order_id"], refund["refund_id"]) == "REQUESTED"
    wechat_minute_passes(sandbox_url)
    refunds.follow_up()
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert _wechat_order(sandbox_url, order["order_id"])["refunded_fee"] == order["total_fen"]


def _change_refund(client, sandbox_url, headers, sku):
    """A paid order whose refund WeChat could not pay out (CHANGE: the money is stuck)."""
    order = _paid(client, sandbox_url, headers, sku)
    _hold(sandbox_url, f"{order['order_id']}-r01")
    refund = body_of(_post(client, f"/orders/{order['order_id']}/refund", headers,
                           {"reason": "x"}))
    _settle_in_wechat(sandbox_url, refund["refund_id"], "CHANGE")
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "CHANGE"
    return order, refund


def test_a_change_refund_keeps_its_units_until_the_store_records_it_settled(
        client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current

    headers, _ = shopper
    sku = _sku(price_fen=6_800, stock=2)
    order, refund = _change_refund(client, sandbox_url, headers, sku)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    clerk, _ = new_staff(client, "clerk", STORE_A)
    base = f"/stores/{STORE_A}/orders/{order['order_id']}"

    again = _post(client, base + "/refunds", manager, {"reason": "再退"})
    assert again.status_code == 409 and body_of(again)["error"]["code"] == "refund_in_progress"
    assert _post(client, f"/orders/{order['order_id']}/refund", headers,
                 {"reason": "再退"}).status_code == 409
    assert body_of(_redeem(client, clerk, order["order_id"]))["error"]["code"] \
        == "refund_in_progress"
    assert current(STORE_A, sku) == 1
    path = f"{base}/refunds/{refund['refund_id']}/resolution"
    assert _post(client, path, clerk, {"outcome": "settled"}).status_code == 403
    assert _post(client, path, manager, {"outcome": "paid"}).status_code == 400

    resolved = _post(client, path, manager, {"outcome": "settled"})

    assert resolved.status_code == 200, resolved.body
    assert body_of(resolved)["status"] == "SUCCESS"
    assert _order(order["order_id"]).status == "REFUNDED"
    assert current(STORE_A, sku) == 2
    twice = _post(client, path, manager, {"outcome": "released"})
    assert twice.status_code == 409 and current(STORE_A, sku) == 2


def test_a_change_refund_released_by_the_store_frees_its_units(client, shopper, served_app,
                                                               sandbox_url, admin):
    from chalicelib.catalog.stock import current

    headers, _ = shopper
    sku = _sku(price_fen=6_800, stock=2)
    order, refund = _change_refund(client, sandbox_url, headers, sku)
    path = (f"/stores/{STORE_A}/orders/{order['order_id']}/refunds/{refund['refund_id']}"
            f"/resolution")

    released = _post(client, path, admin, {"outcome": "released"})

    assert released.status_code == 200, released.body
    assert body_of(released)["status"] == "FAILED"
    assert _order(order["order_id"]).refunded_quantities == {sku: 0}
    assert current(STORE_A, sku) == 1
    clerk, _ = new_staff(client, "clerk", STORE_A)
    assert body_of(_redeem(client, clerk, order["order_id"]))["status"] == "COMPLETED"
    assert _post(client, path, admin, {"outcome": "settled"}).status_code == 409


def test_a_refund_wechat_has_not_accepted_for_weeks_is_still_asked_for(
        client, shopper, served_app, sandbox_url, monkeypatch, capfd):
    import os

    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    wechat_pay = os.environ["WECHAT_PAY_API_BASE"]
    monkeypatch.setenv("WECHAT_PAY_API_BASE", "http://127.0.0.1:9")  # WeChat unreachable
    refund = refunds.request(order["order_id"], None, "x", "test")
    assert refund.status == "REQUESTED"
    now = datetime.now(timezone.utc)

    refunds.follow_up(clock=FixedClock(now + timedelta(days=31)))
    assert _refund_status(order["order_id"], refund.refund_id) == "REQUESTED"
    assert '"event": "refund_overdue"' in capfd.readouterr().out
    monkeypatch.setenv("WECHAT_PAY_API_BASE", wechat_pay)
    refunds.follow_up(clock=FixedClock(now + timedelta(days=32)))

    assert _settled(sandbox_url, order["order_id"], refund.refund_id) == "SUCCESS"
    assert current(STORE_A, sku) == 3


def test_a_refund_refused_for_want_of_the_merchant_certificate_stays_open_until_it_goes(
        client, shopper, served_app, sandbox_url, monkeypatch, capfd):
    """WeChat Pay refunds only over TLS with the merchant's API certificate: over plain HTTP
    (where no certificate can be shown) it answers 400 No required SSL certificate was sent,
    with no err_code. The refund stays open and goes through, with the certificate, when the
    job asks again."""
    import os

    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    configured = os.environ["WECHAT_PAY_API_BASE"]
    assert configured.startswith("https://")
    monkeypatch.setenv("WECHAT_PAY_API_BASE", sandbox_url)  # plain HTTP

    refund = refunds.request(order["order_id"], None, "x", "test")

    assert refund.status == "REQUESTED"
    assert _order(order["order_id"]).refunded_quantities == {sku: 1}
    logged = capfd.readouterr().out
    assert '"event": "refund_not_accepted"' in logged and '"http_status": 400' in logged
    assert requests.get(f"{sandbox_url}/__sandbox__/pay/refunds/{refund.refund_id}",
                        timeout=5).status_code == 404
    monkeypatch.setenv("WECHAT_PAY_API_BASE", configured)
    refunds.follow_up()

    assert _settled(sandbox_url, order["order_id"], refund.refund_id) == "SUCCESS"
    assert current(STORE_A, sku) == 3


@pytest.mark.parametrize("http_status", [502, 503])
def test_a_refund_answered_with_a_gateway_error_stays_open_and_is_asked_again(
        client, shopper, served_app, sandbox_url, wechat_faults, http_status):
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    wechat_faults.add("/secapi/pay/refund", match={"out_trade_no": order["order_id"]},
                      times=2, http_status=http_status)

    refund = refunds.request(order["order_id"], None, "x", "test")
    refunds.follow_up()

    assert _refund_status(order["order_id"], refund.refund_id) == "REQUESTED"
    assert _order(order["order_id"]).refunded_quantities == {sku: 1}
    refunds.follow_up()
    assert _settled(sandbox_url, order["order_id"], refund.refund_id) == "SUCCESS"


@pytest.fixture
def refund_funds(sandbox_url):
    """Sets what the merchant has in WeChat to refund from; no limit again after the test."""
    url = f"{sandbox_url}/__sandbox__/pay/refund-funds"
    yield lambda **funds: requests.post(url, json=funds, timeout=5).raise_for_status()
    requests.post(url, json={"unsettled_fen": None, "available_fen": None},
                  timeout=5).raise_for_status()


def test_a_refund_short_of_unsettled_funds_waits_or_comes_from_the_available_balance(
        client, shopper, served_app, sandbox_url, refund_funds, monkeypatch, capfd):
    """NOTENOUGH: the payments not yet settled to the merchant fall short. The refund waits,
    ops are told; a brand that allows it is refunded from its available balance."""
    from chalicelib.orders import refunds

    headers, _ = shopper
    sku = _sku(price_fen=4_000, stock=3)
    order = _paid(client, sandbox_url, headers, sku)
    refund_funds(unsettled_fen=3_999)

    refund = refunds.request(order["order_id"], None, "x", "test")
    refunds.follow_up()

    assert _refund_status(order["order_id"], refund.refund_id) == "REQUESTED"
    assert capfd.readouterr().out.count('"event": "refund_funds_short"') == 2
    monkeypatch.setenv("REFUND_FROM_AVAILABLE_FUNDS", "true")
    refunds.follow_up()

    assert _settled(sandbox_url, order["order_id"], refund.refund_id) == "SUCCESS"
    in_wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/refunds/{refund.refund_id}",
                             timeout=5).json()
    assert in_wechat["refund_account"] == "REFUND_SOURCE_RECHARGE_FUNDS"


def test_a_refund_settled_by_the_job_while_dynamodb_fails_takes_back_once(
        client, shopper, served_app, sandbox_url, monkeypatch):
    from chalicelib.orders import refunds
    from chalicelib.guides import commissions as attribution
    from chalicelib.members.models import Member
    from tests.faults import inject, touches

    headers, member_id = shopper
    _, guide_id = _bound_to_new_guide(client, member_id)
    order = _paid(client, sandbox_url, headers, _sku(price_fen=10_000, stock=1))
    assert (Member.get(member_id).points_balance, Member.get(member_id).growth) == (100, 100)
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    _wait_for(lambda: _wechat_order(sandbox_url, order["order_id"])["refunds"][0]["status"]
              == "SUCCESS")
    # DynamoDB fails as the refund's growth is taken back.
    failed = inject(monkeypatch, "TransactWriteItems", touches(
        "applied-changes", key=f"growth#{member_id}#refund#{refund['refund_id']}"))

    refunds.follow_up()

    assert failed and _refund_status(order["order_id"], refund["refund_id"]) == "SUCCESS"
    assert Member.get(member_id).growth == 100  # not yet taken back
    from chalicelib import wiring as subscribers

    later = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=10))
    subscribers.run_job(later)
    subscribers.run_job(later)
    refunds.follow_up()

    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.points_debt, member.growth) == (0, 0, 0)
    month = attribution.month_of(datetime.now(timezone.utc))
    assert attribution.month_totals(guide_id, month)["commission_fen"] == 0
    assert [e.source for e in _ledger(member_id)] == ["order", "refund"]


def _ledger(member_id):
    from chalicelib.members.models import PointsEntry

    return list(PointsEntry.query(member_id))
