"""Paying through WeChat Pay v2 (the sandbox, through wechatpy): the whole shopper journey,
notifies that repeat, race, lie or never come, and unpaid orders that expire."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _coupon, _id, _sku
from tests.conftest import (JSON, STORE_A, STORE_B, TEST_ENVIRONMENT, WeChatUser, body_of,
                            new_staff, sign_in)

MCH_KEY = TEST_ENVIRONMENT["WECHAT_MCH_KEY"]


def _post(client, path, headers, body=None, **more):
    return client.http.post(path, headers={**headers, **JSON, **more},
                            body=json.dumps(body or {}))


def _place(client, headers, sku_id, quantity=1, **extra):
    placed = _post(client, "/orders", headers,
                   {"store_id": STORE_A, "items": [{"sku_id": sku_id, "quantity": quantity}],
                    **extra}, **{"Idempotency-Key": _id("key")})
    assert placed.status_code == 201, placed.body
    return body_of(placed)


def _order(order_id):
    from chalicelib.orders.models import Order

    return Order.get(order_id, consistent_read=True)


def _wait_for(predicate, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _notify_xml(order_id, total_fee, transaction_id="4200000000202611250000000001",
                key=MCH_KEY, signature=calculate_signature, **changes):
    """A payment notify as WeChat signs it (MD5 with the merchant key, unless told)."""
    fields = {"appid": TEST_ENVIRONMENT["WECHAT_APP_ID"],
              "mch_id": TEST_ENVIRONMENT["WECHAT_MCH_ID"], "nonce_str": uuid.uuid4().hex,
              "return_code": "SUCCESS", "result_code": "SUCCESS", "openid": "o-any",
              "trade_type": "JSAPI", "total_fee": str(total_fee), "fee_type": "CNY",
              "out_trade_no": order_id, "transaction_id": transaction_id,
              "time_end": "20261125120000", "bank_type": "OTHERS", "cash_fee": str(total_fee),
              **changes}
    fields["sign"] = signature(fields, key)
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


def _send_notify(app_url, xml):
    answer = requests.post(f"{app_url}/wechat/pay/notify", data=xml.encode(),
                           headers={"Content-Type": "text/xml"}, timeout=10)
    assert answer.status_code == 200
    return answer.text


def _notifies(sandbox_url, order_id):
    return [attempt for attempt in requests.get(
        f"{sandbox_url}/__sandbox__/pay/notifies", params={"out_trade_no": order_id},
        timeout=5).json() if attempt.get("kind", "payment") == "payment"]


def _pay_in_wechat(sandbox_url, order_id, **payment):
    """The shopper pays in WeChat (with `prepay_id`, if given); WeChat (the sandbox) notifies
    the app, which answers."""
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order_id}/pay",
                         json=payment, timeout=5).status_code == 200
    _wait_for(lambda: any(attempt["delivered"] for attempt in _notifies(sandbox_url, order_id)))


def _wechat_order(sandbox_url, order_id):
    return requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order_id}", timeout=5).json()


def _age_in_wechat(sandbox_url, order_id, minutes):
    """For WeChat, the order was placed `minutes` earlier."""
    assert requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order_id}/age",
                         json={"minutes": minutes}, timeout=5).status_code == 200


def _prepay_id(started):
    return started["request_payment"]["package"].removeprefix("prepay_id=")


def test_the_whole_journey_from_login_to_pickup(client, served_app, sandbox_url):
    from chalicelib.members.models import Member

    headers, session = sign_in(client, WeChatUser(_id("journey")))
    member_id = session["member"]["member_id"]
    sku = _sku(price_fen=8_800, stock=5)
    assert client.http.put("/members/me/store", headers={**headers, **JSON},
                           body=json.dumps({"store_id": STORE_A})).status_code == 200
    _post(client, f"/cart/{STORE_A}/items", headers, {"sku_id": sku, "quantity": 2})
    request = {"store_id": STORE_A, "items": [{"sku_id": sku, "quantity": 2}],
               "fulfilment": "pickup"}
    preview = body_of(_post(client, "/checkout/preview", headers, request))
    order = _place(client, headers, sku, 2, fulfilment="pickup")
    assert order["total_fen"] == preview["total_fen"] == 17_600
    assert body_of(client.http.get(f"/cart/{STORE_A}", headers=headers))["items"] == []

    started = body_of(_post(client, f"/orders/{order['order_id']}/pay", headers))
    params = started["request_payment"]
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert params["paySign"] == calculate_signature(unsigned, MCH_KEY)
    assert params["package"].startswith("prepay_id=wx")

    _pay_in_wechat(sandbox_url, order["order_id"])
    paid = body_of(client.http.get(f"/orders/{order['order_id']}", headers=headers))
    assert paid["status"] == "PAID"
    assert paid["pickup_code"] and len(paid["pickup_code"]) == 6
    assert Member.get(member_id).points_balance == 176  # 1 point a yuan at silver

    clerk_b, _ = new_staff(client, "clerk", STORE_B)
    clerk_a, _ = new_staff(client, "clerk", STORE_A)
    code = {"code": paid["pickup_code"]}
    assert _post(client, f"/stores/{STORE_B}/pickups", clerk_b, code).status_code == 404
    handed = _post(client, f"/stores/{STORE_A}/pickups", clerk_a, code)
    again = _post(client, f"/stores/{STORE_A}/pickups", clerk_a, code)
    assert handed.status_code == 200 and body_of(handed)["status"] == "COMPLETED"
    assert again.status_code == 404


def test_one_notify_five_times_at_once_counts_once(client, shopper, served_app):
    from chalicelib.guides.models import GuideSale
    from chalicelib.members.models import Member
    from chalicelib.members.points import ledger_page

    headers, member_id = shopper
    guide_headers, guide_session = new_staff(client, "guide", STORE_A)
    guide_id = guide_session["member"]["member_id"]
    Member(member_id).update(actions=[Member.guide_id.set(guide_id)])
    order = _place(client, headers, _sku(price_fen=10_000, stock=3))
    xml = _notify_xml(order["order_id"], order["total_fen"])

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: _send_notify(served_app, xml), range(5)))

    assert all("SUCCESS" in answer for answer in answers), answers
    assert _order(order["order_id"]).status == "PAID"
    member = Member.get(member_id)
    assert (member.points_balance, member.growth, member.orders_count) == (100, 100, 1)
    assert [e["source"] for e in ledger_page(member_id, 10)["entries"]] == ["order"]
    sales = list(GuideSale.query(guide_id))
    assert [(s.order_id, s.commission_fen) for s in sales] == [(order["order_id"], 300)]


@pytest.mark.parametrize("forgery", ["bad_signature", "wrong_amount", "wrong_merchant",
                                     "not_xml"])
def test_a_notify_that_does_not_check_out_changes_nothing(client, shopper, served_app,
                                                           forgery, capfd):
    from chalicelib.members.models import Member

    headers, member_id = shopper
    order = _place(client, headers, _sku(price_fen=5_000, stock=3))
    xml = {
        "bad_signature": _notify_xml(order["order_id"], order["total_fen"], key="x" * 32),
        "wrong_amount": _notify_xml(order["order_id"], 1),
        "wrong_merchant": _notify_xml(order["order_id"], order["total_fen"],
                                      mch_id="1900000999"),
        "not_xml": "<xml><unclosed>",
    }[forgery]

    answer = _send_notify(served_app, xml)

    assert "FAIL" in answer
    assert _order(order["order_id"]).status == "PENDING_PAYMENT"
    assert Member.get(member_id).points_balance == 0
    assert '"event": "pay_notify_rejected"' in capfd.readouterr().out


def test_a_lost_notify_is_recovered_by_reconciliation(client, shopper, sandbox_url,
                                                      monkeypatch):
    from chalicelib.orders import closing as lifecycle

    headers, _ = shopper
    order = _place(client, headers, _sku(stock=2))
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # the notify never arrives
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay", timeout=5)

    later = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=4))
    closed, recovered = lifecycle.run_minute_job(clock=later)

    assert recovered >= 1
    assert _order(order["order_id"]).status == "PAID"


def test_an_unpaid_order_expires_and_gives_everything_back(client, shopper, sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.coupons import wallet as coupons
    from chalicelib.orders import closing as lifecycle
    from chalicelib.members import points

    headers, member_id = shopper
    points.change_points(member_id, 500, "admin", _id("gift"))
    sku = _sku(price_fen=20_000, stock=4)
    mine = coupons.claim(member_id, _coupon()["coupon_id"])["member_coupon_id"]
    order = _place(client, headers, sku, 3, member_coupon_id=mine, points=500)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    assert current(STORE_A, sku) == 1

    after_window = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=17))
    _age_in_wechat(sandbox_url, order["order_id"], 17)
    lifecycle.run_minute_job(clock=after_window)

    closed = _order(order["order_id"])
    assert (closed.status, closed.close_reason) == ("CLOSED", "expired")
    assert current(STORE_A, sku) == 4
    assert [c["status"] for c in coupons.mine(member_id)] == ["available"]
    from chalicelib.members.models import Member

    assert Member.get(member_id).points_balance == 500
    wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                          timeout=5).json()
    assert wechat["trade_state"] == "CLOSED"


def test_a_payment_for_a_cancelled_order_is_refunded(client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.orders.models import Refund

    headers, _ = shopper
    sku = _sku(stock=2)
    order = _place(client, headers, sku)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    # The shopper cancels while WeChat is still taking the money (in the order's first 5
    # minutes, WeChat would not close it).
    cancelled = _post(client, f"/orders/{order['order_id']}/cancel", headers)
    assert body_of(cancelled)["status"] == "CLOSED"

    # WeChat takes the money anyway, and notifies.
    _pay_in_wechat(sandbox_url, order["order_id"])

    assert _order(order["order_id"]).status == "CLOSED" and current(STORE_A, sku) == 2
    refund = Refund.get(order["order_id"], f"{order['order_id']}-late")
    assert (refund.kind, refund.refund_fen) == ("late_payment", order["total_fen"])
    wechat = requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                          timeout=5).json()
    assert wechat["refunded_fee"] == order["total_fen"] and wechat["trade_state"] == "REFUND"
    # WeChat's retry of the same notify refunds nothing more.
    requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/renotify",
                  timeout=5)
    _wait_for(lambda: sum(attempt["delivered"] for attempt in _notifies(
        sandbox_url, order["order_id"])) == 2)
    assert len(requests.get(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}",
                            timeout=5).json()["refunds"]) == 1


def test_what_a_payment_sets_off_is_finished_by_the_streams_next_delivery_after_dynamodb_failed(
        client, shopper, sandbox_url, monkeypatch):
    """Reconciliation finds the payment: the points come with it, in its own transaction.
    DynamoDB fails as the orders stream's delivery writes the guide's sale and queues the
    message. Delivered again, the batch finishes both, once."""
    from chalicelib.orders import closing as lifecycle
    from chalicelib.guides.models import GuideSale
    from chalicelib.members.models import Member
    from chalicelib.notify.models import Notification
    from devtools import streams
    from tests.faults import inject, touches

    headers, member_id = shopper
    _, guide_session = new_staff(client, "guide", STORE_A)
    guide_id = guide_session["member"]["member_id"]
    Member(member_id).update(actions=[Member.guide_id.set(guide_id)])
    order = _place(client, headers, _sku(price_fen=10_000, stock=2))
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # the notify never arrives
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay", timeout=5)
    sale_failed = inject(monkeypatch, "PutItem", touches("guide-sales", guide_id=guide_id))
    message_failed = inject(monkeypatch, "PutItem", touches(
        "notifications", notification_id=f"order_paid#{member_id}#{order['order_id']}"))
    soon = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=4))

    lifecycle.run_minute_job(clock=soon)
    streams.drain()  # the orders stream delivers the payment to its subscribers

    assert sale_failed and message_failed
    assert _order(order["order_id"]).status == "PAID"
    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.growth) == (100, 100)
    assert list(GuideSale.query(guide_id)) == []

    streams.drain()  # the failed batch, delivered again
    streams.drain()
    lifecycle.run_minute_job(clock=FixedClock(datetime.now(timezone.utc) +
                                              timedelta(minutes=10)))

    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.growth) == (100, 100)
    assert _order(order["order_id"]).points_earned == 100
    assert [(s.tier, s.commission_fen) for s in GuideSale.query(guide_id)] == [(1, 300)]
    assert Notification.get(f"order_paid#{member_id}#{order['order_id']}").event \
        == "order_paid"


def test_a_second_tap_on_pay_gets_a_payable_prepay_id(client, shopper, served_app,
                                                       sandbox_url):
    headers, _ = shopper
    order = _place(client, headers, _sku(stock=2))
    first = body_of(_post(client, f"/orders/{order['order_id']}/pay", headers))
    placed = _order(order["order_id"])
    terms = _wechat_order(sandbox_url, order["order_id"])["terms"]
    assert (terms["time_start"], terms["time_expire"]) == (
        _beijing(placed.created_at), _beijing(placed.pay_by))  # WeChat's order ends with ours

    again = _post(client, f"/orders/{order['order_id']}/pay", headers)

    assert again.status_code == 200, again.body
    assert _prepay_id(body_of(again)) == _prepay_id(first)
    _pay_in_wechat(sandbox_url, order["order_id"], prepay_id=_prepay_id(body_of(again)))
    assert _order(order["order_id"]).status == "PAID"


def test_an_order_with_less_than_five_minutes_left_to_pay_can_be_paid(
        client, shopper, served_app, sandbox_url, monkeypatch):
    headers, _ = shopper
    monkeypatch.setenv("ORDER_PAY_MINUTES", "3")
    order = _place(client, headers, _sku(stock=2))
    tapped = datetime.now(timezone.utc)

    first = _post(client, f"/orders/{order['order_id']}/pay", headers)

    assert first.status_code == 200, first.body
    expires_at = datetime.strptime(
        _wechat_order(sandbox_url, order["order_id"])["terms"]["time_expire"] + "+0800",
        "%Y%m%d%H%M%S%z")
    assert expires_at >= tapped + timedelta(minutes=5)  # WeChat's shortest
    again = body_of(_post(client, f"/orders/{order['order_id']}/pay", headers))
    _pay_in_wechat(sandbox_url, order["order_id"], prepay_id=_prepay_id(again))
    assert _order(order["order_id"]).status == "PAID"


def _beijing(moment):
    return moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y%m%d%H%M%S")


def test_a_tap_on_pay_after_the_prepay_id_expired_gets_a_new_one(client, shopper, served_app,
                                                                  sandbox_url, monkeypatch):
    from chalicelib.orders import payments

    headers, member_id = shopper
    monkeypatch.setenv("ORDER_PAY_MINUTES", "180")  # longer than a prepay id lives
    order = _place(client, headers, _sku(stock=2))
    first = payments.start(member_id, order["order_id"])
    _age_in_wechat(sandbox_url, order["order_id"], 121)
    later = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=121))

    second = payments.start(member_id, order["order_id"], clock=later)

    assert _prepay_id(second) != _prepay_id(first)
    _pay_in_wechat(sandbox_url, order["order_id"], prepay_id=_prepay_id(second))
    assert _order(order["order_id"]).status == "PAID"


def test_a_failed_payment_can_be_tried_again(client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    order = _place(client, headers, _sku(stock=2))
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    failed = requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay",
                           json={"result": "FAIL"}, timeout=5)
    assert failed.status_code == 200
    assert _order(order["order_id"]).status == "PENDING_PAYMENT"

    again = body_of(_post(client, f"/orders/{order['order_id']}/pay", headers))
    _pay_in_wechat(sandbox_url, order["order_id"], prepay_id=_prepay_id(again))

    assert _order(order["order_id"]).status == "PAID"


def test_a_cancel_in_the_first_five_minutes_lets_no_money_in_without_a_refund(
        client, shopper, sandbox_url, monkeypatch):
    """WeChat will not close an order in its first 5 minutes, and the notify of a payment
    that lands on it meanwhile may never come: the minute job asks until WeChat closes it."""
    from chalicelib.orders import closing as lifecycle
    from chalicelib.orders.models import Refund
    from chalicelib.db import cursors as minutes

    headers, _ = shopper
    now = datetime.now(timezone.utc)
    minutes.cover(lifecycle.JOB, now - timedelta(minutes=1), now)  # it ran a minute ago
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # the notify never arrives
    paid, unpaid = (_place(client, headers, _sku(stock=2)) for _ in range(2))
    for order in (paid, unpaid):
        _post(client, f"/orders/{order['order_id']}/pay", headers)
        cancelled = _post(client, f"/orders/{order['order_id']}/cancel", headers)
        assert body_of(cancelled)["status"] == "CLOSED"
        assert _wechat_order(sandbox_url, order["order_id"])["trade_state"] == "NOTPAY"
    requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{paid['order_id']}/pay", timeout=5)
    lifecycle.run_minute_job(clock=FixedClock(now + timedelta(minutes=3)))
    assert _wechat_order(sandbox_url, unpaid["order_id"])["trade_state"] == "NOTPAY"

    for order in (paid, unpaid):
        _age_in_wechat(sandbox_url, order["order_id"], 6)
    lifecycle.run_minute_job(clock=FixedClock(now + timedelta(minutes=7)))

    refund = Refund.get(paid["order_id"], f"{paid['order_id']}-late")
    assert (refund.kind, refund.refund_fen) == ("late_payment", paid["total_fen"])
    assert _wechat_order(sandbox_url, paid["order_id"])["refunded_fee"] == paid["total_fen"]
    assert _wechat_order(sandbox_url, unpaid["order_id"])["trade_state"] == "CLOSED"
    for order in (paid, unpaid):
        assert _order(order["order_id"]).status == "CLOSED"
        assert _order(order["order_id"]).pending_minute is None  # nothing left to ask


def test_an_hmac_sha256_notify_without_sign_type_is_verified(client, shopper, served_app):
    headers, _ = shopper
    order = _place(client, headers, _sku(stock=2))
    forged = _notify_xml(order["order_id"], order["total_fen"], key="x" * 32,
                         signature=calculate_signature_hmac)
    assert "FAIL" in _send_notify(served_app, forged)

    answer = _send_notify(served_app, _notify_xml(order["order_id"], order["total_fen"],
                                                  signature=calculate_signature_hmac))

    assert "SUCCESS" in answer
    assert _order(order["order_id"]).status == "PAID"


def _expired_with_wechat_close_refused(client, headers, sku, sandbox_url, wechat_faults):
    """An order whose pay_by passed, closed by the minute job while WeChat refused to close
    its own (SYSTEMERROR): (the order, its pay_by)."""
    from chalicelib.orders import closing as lifecycle
    from chalicelib.db import cursors as minutes

    order = _place(client, headers, sku)
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    _age_in_wechat(sandbox_url, order["order_id"], 17)
    wechat_faults.add("/pay/closeorder", match={"out_trade_no": order["order_id"]},
                      err_code="SYSTEMERROR")
    pay_by = _order(order["order_id"]).pay_by
    minutes.cover(lifecycle.JOB, pay_by - timedelta(minutes=2), pay_by)
    lifecycle.run_minute_job(clock=FixedClock(pay_by + timedelta(minutes=1)))
    return order, pay_by


def test_an_expiry_whose_close_wechat_refuses_is_closed_there_a_run_later(
        client, shopper, sandbox_url, wechat_faults):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import closing as lifecycle

    headers, _ = shopper
    sku = _sku(stock=2)
    order, pay_by = _expired_with_wechat_close_refused(client, headers, sku, sandbox_url,
                                                       wechat_faults)

    assert _order(order["order_id"]).status == "CLOSED" and current(STORE_A, sku) == 2
    assert _wechat_order(sandbox_url, order["order_id"])["trade_state"] == "NOTPAY"
    lifecycle.run_minute_job(clock=FixedClock(pay_by + timedelta(minutes=3)))
    assert _wechat_order(sandbox_url, order["order_id"])["trade_state"] == "CLOSED"
    assert _order(order["order_id"]).pending_minute is None


def test_a_wechat_order_found_closed_ends_the_watch_on_it(client, shopper, sandbox_url,
                                                         wechat_faults):
    """WeChat closed its order though our close seemed to fail (its answer was lost): the
    minute job sees it closed and asks no more (closing it again is ORDERCLOSED)."""
    from chalicelib.orders import closing as lifecycle, payments

    headers, _ = shopper
    order, pay_by = _expired_with_wechat_close_refused(client, headers, _sku(stock=2),
                                                       sandbox_url, wechat_faults)
    payments._pay().close(order["order_id"])

    lifecycle.run_minute_job(clock=FixedClock(pay_by + timedelta(minutes=3)))

    assert _wechat_order(sandbox_url, order["order_id"])["trade_state"] == "CLOSED"
    assert _order(order["order_id"]).pending_minute is None


def test_a_cancel_wechat_cannot_answer_about_changes_nothing(client, shopper, sandbox_url,
                                                             wechat_faults):
    headers, _ = shopper
    order = _place(client, headers, _sku(stock=2))
    _post(client, f"/orders/{order['order_id']}/pay", headers)
    wechat_faults.add("/pay/orderquery", match={"out_trade_no": order["order_id"]},
                      err_code="SYSTEMERROR")

    refused = _post(client, f"/orders/{order['order_id']}/cancel", headers)

    assert refused.status_code == 502
    assert body_of(refused)["error"]["code"] == "wechat_unavailable"
    assert _order(order["order_id"]).status == "PENDING_PAYMENT"
    cancelled = _post(client, f"/orders/{order['order_id']}/cancel", headers)
    assert body_of(cancelled)["status"] == "CLOSED"
