import uuid
from datetime import datetime

from wechatpy.pay.utils import calculate_signature_hmac

from sandbox.notify import RETRY_DELAYS_S
from sandbox.signing import parse_xml
from tests.sandbox.receiver import FAIL_ANSWER

TIME_SCALE = 0.001  # the conftest's sandbox


def place_order(pay, notify_url, total_fee=2590, **extra):
    out_trade_no = "N" + uuid.uuid4().hex[:20]
    pay.order.create(trade_type="JSAPI", body="鱼塘 年卡", total_fee=total_fee,
                     notify_url=notify_url, client_ip="127.0.0.1", user_id="o-alice",
                     out_trade_no=out_trade_no, **extra)
    return out_trade_no


def delivered(attempts):
    return any(attempt["delivered"] for attempt in attempts)


def test_notify_is_retried_on_the_scaled_schedule_until_acknowledged(
        wechat_pay, control, make_receiver):
    receiver = make_receiver([(200, FAIL_ANSWER), (500, "oops")])
    trade_no = place_order(wechat_pay, receiver.url, attach="brand=demo")

    paid = control.post(f"pay/orders/{trade_no}/pay")
    assert paid.status_code == 200 and paid.json()["trade_state"] == "SUCCESS"
    attempts = control.wait_for_notifies(trade_no, delivered)

    assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
        (1, 200, False), (2, 500, False), (3, 200, True)]
    assert attempts[0]["url"] == receiver.url and attempts[0]["answer"] == FAIL_ANSWER
    assert {attempt["kind"] for attempt in attempts} == {"payment"}
    times = [datetime.fromisoformat(attempt["at"]) for attempt in attempts]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(times, times[1:])]
    assert all(gap >= delay * TIME_SCALE for gap, delay in zip(gaps, RETRY_DELAYS_S))
    assert sum(gaps) < 5  # the unscaled schedule would take 30 s
    for body in receiver.bodies:
        notify = wechat_pay.parse_payment_result(body)  # raises unless the MD5 sign verifies
        assert (notify["result_code"], notify["return_code"]) == ("SUCCESS", "SUCCESS")
        assert (notify["total_fee"], notify["cash_fee"], notify["fee_type"]) == (2590, 2590, "CNY")
        assert (notify["out_trade_no"], notify["attach"]) == (trade_no, "brand=demo")
        assert notify["openid"] == "o-alice" and notify["transaction_id"]
        assert len(notify["time_end"]) == 14 and notify["is_subscribe"] == "N"
    assert len(receiver.bodies) == 3


def test_an_unreachable_notify_url_counts_as_a_failed_attempt(wechat_pay, control):
    trade_no = place_order(wechat_pay, "http://127.0.0.1:9/closed")
    control.post(f"pay/orders/{trade_no}/pay")

    attempts = control.wait_for_notifies(trade_no, lambda found: len(found) >= 2)

    assert attempts[0]["status"].startswith("error")
    assert not delivered(attempts)


def test_hmac_orders_get_hmac_signed_notifies_that_do_not_say_so(wechat_pay, credentials,
                                                                  control, make_receiver):
    receiver = make_receiver()
    trade_no = place_order(wechat_pay, receiver.url, sign_type="HMAC-SHA256")
    control.post(f"pay/orders/{trade_no}/pay")
    control.wait_for_notifies(trade_no, delivered)

    fields = parse_xml(receiver.bodies[0])
    assert "sign_type" not in fields
    signature = fields.pop("sign")
    assert signature == calculate_signature_hmac(fields, credentials.mch_key)


def test_renotify_sends_the_same_payment_again(wechat_pay, control, make_receiver):
    receiver = make_receiver()
    trade_no = place_order(wechat_pay, receiver.url)
    control.post(f"pay/orders/{trade_no}/pay")
    control.wait_for_notifies(trade_no, delivered)

    assert control.post(f"pay/orders/{trade_no}/renotify").status_code == 200
    attempts = control.wait_for_notifies(trade_no, lambda found: len(found) == 2)

    assert [(a["delivery"], a["delivered"]) for a in attempts] == [(1, True), (2, True)]
    first, second = (wechat_pay.parse_payment_result(body) for body in receiver.bodies)
    assert first["transaction_id"] == second["transaction_id"]


def test_a_failed_payment_leaves_the_order_to_pay_again(wechat_pay, control, make_receiver):
    receiver = make_receiver()
    trade_no = place_order(wechat_pay, receiver.url)

    failed = control.post(f"pay/orders/{trade_no}/pay", {"result": "FAIL"})

    assert failed.status_code == 200 and failed.json()["trade_state"] == "NOTPAY"
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "NOTPAY"
    assert control.notifies(trade_no) == []  # WeChat notifies payments, not failed attempts
    assert control.post(f"pay/orders/{trade_no}/pay").status_code == 200
    control.wait_for_notifies(trade_no, delivered)
    assert wechat_pay.parse_payment_result(receiver.bodies[0])["result_code"] == "SUCCESS"


def test_paying_needs_a_pending_order(wechat_pay, control, make_receiver):
    assert control.post("pay/orders/nope/pay").status_code == 404
    trade_no = place_order(wechat_pay, make_receiver().url)
    assert control.post(f"pay/orders/{trade_no}/renotify").status_code == 409
    assert control.post(f"pay/orders/{trade_no}/pay", {"result": "MAYBE"}).status_code == 400
    assert control.post(f"pay/orders/{trade_no}/pay").status_code == 200
    assert control.post(f"pay/orders/{trade_no}/pay").status_code == 409


def test_reset_stops_retrying(wechat_pay, control):
    trade_no = place_order(wechat_pay, "http://127.0.0.1:9/closed")
    control.post(f"pay/orders/{trade_no}/pay")
    control.wait_for_notifies(trade_no, lambda found: len(found) >= 1)

    control.post("reset")

    assert control.wait_for_notifies(trade_no, lambda found: len(found) > 0, timeout_s=0.3) == []
