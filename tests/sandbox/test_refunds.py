"""WeChat Pay v2 refunds: accepted as PROCESSING, settled later, notified encrypted."""
import re
import time
import uuid
from datetime import datetime, timedelta

import pytest
import requests
from wechatpy.exceptions import WeChatPayException

from sandbox import tls
from sandbox.signing import parse_xml
from tests.conftest import wechat_minute_passes
from tests.sandbox.receiver import FAIL_ANSWER

NOWHERE = "http://127.0.0.1:9/notify"  # nothing listens there
SLOW_SCALE = 0.3  # refunds settle 0.3 s after acceptance instead of 1 ms
PAY_TIME = "%Y%m%d%H%M%S"
SUCCESS_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture
def slow_settling(sandbox):
    """Slows the sandbox down enough for a test to see a refund PROCESSING before it settles."""
    sandbox.state.time_scale = SLOW_SCALE


def paid_order(pay, control, total_fee=1000, notify_url=NOWHERE):
    out_trade_no = "F" + uuid.uuid4().hex[:20]
    pay.order.create(trade_type="JSAPI", body="鱼塘 会员卡", total_fee=total_fee,
                     notify_url=notify_url, client_ip="127.0.0.1", user_id="o-alice",
                     out_trade_no=out_trade_no)
    assert control.post(f"pay/orders/{out_trade_no}/pay").status_code == 200
    return out_trade_no


def refund_status(pay, out_refund_no):
    answer = pay.refund.query(out_refund_no=out_refund_no)
    return answer["refund_status_0"], answer.get("refund_success_time_0")


def wait_for_status(pay, out_refund_no, wanted, timeout_s=5):
    deadline = time.monotonic() + timeout_s
    while refund_status(pay, out_refund_no)[0] != wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    return refund_status(pay, out_refund_no)


def delivered(attempts):
    return any(attempt["delivered"] for attempt in attempts)


def test_a_refund_is_processing_until_it_settles(wechat_pay, control, slow_settling):
    trade_no = paid_order(wechat_pay, control)

    accepted = wechat_pay.refund.apply(1000, 300, "R1", out_trade_no=trade_no)

    assert accepted["result_code"] == "SUCCESS" and accepted["refund_fee"] == "300"
    assert refund_status(wechat_pay, "R1") == ("PROCESSING", None)
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "REFUND"
    status, success_time = wait_for_status(wechat_pay, "R1", "SUCCESS")
    assert status == "SUCCESS" and SUCCESS_TIME.fullmatch(success_time)
    shown = control.get("pay/refunds/R1").json()
    assert (shown["status"], shown["success_time"], shown["held"]) == ("SUCCESS", success_time,
                                                                      False)
    assert (shown["out_trade_no"], shown["refund_id"]) == (trade_no, accepted["refund_id"])
    # No notify_url in the request: nothing is notified.
    assert control.wait_for_notifies(trade_no, len, timeout_s=0.2, kind="refund") == []


def test_a_refund_needs_the_merchant_certificate(make_wechat_pay, sandbox, control):
    with_certificate = make_wechat_pay()
    trade_no = paid_order(with_certificate, control)
    over_https, over_http = make_wechat_pay(certificate=False), \
        make_wechat_pay(certificate=False, base_url=sandbox.url)

    for without in (over_https, over_http):
        with pytest.raises(WeChatPayException) as refused:
            without.refund.apply(1000, 300, "R1", out_trade_no=trade_no)
        assert refused.value.response.status_code == 400
        assert refused.value.errcode is None
        assert "No required SSL certificate was sent" in refused.value.response.text
        # Only the paths under /secapi/ need it.
        assert without.order.query(out_trade_no=trade_no)["trade_state"] == "SUCCESS"
    assert control.get("pay/refunds/R1").status_code == 404

    accepted = with_certificate.refund.apply(1000, 300, "R1", out_trade_no=trade_no)
    assert accepted["result_code"] == "SUCCESS"


def test_a_certificate_the_ca_did_not_sign_is_refused(make_wechat_pay, credentials, control,
                                                      tmp_path):
    trade_no = paid_order(make_wechat_pay(), control)
    tls.make_certificates(tmp_path, credentials.mch_id)  # another CA, another certificate
    forged = make_wechat_pay()
    forged.mch_cert, forged.mch_key = (tmp_path / tls.MERCHANT_CERT_FILE,
                                       tmp_path / tls.MERCHANT_KEY_FILE)

    with pytest.raises(requests.RequestException):
        forged.refund.apply(1000, 300, "R1", out_trade_no=trade_no)

    assert control.get("pay/refunds/R1").status_code == 404


def test_a_held_refund_stays_processing_until_settled(wechat_pay, control):
    trade_no = paid_order(wechat_pay, control)
    assert control.post("pay/refunds/R1/hold").json() == {"out_refund_no": "R1", "held": True}

    wechat_pay.refund.apply(1000, 1000, "R1", out_trade_no=trade_no)
    time.sleep(0.1)  # a hundred times the settling delay

    assert refund_status(wechat_pay, "R1") == ("PROCESSING", None)
    assert control.get("pay/refunds/R1").json()["held"] is True
    settled = control.post("pay/refunds/R1/settle")
    assert settled.status_code == 200
    assert (settled.json()["status"], settled.json()["held"]) == ("SUCCESS", False)
    status, success_time = refund_status(wechat_pay, "R1")
    assert status == "SUCCESS" and SUCCESS_TIME.fullmatch(success_time)
    assert control.post("pay/refunds/R1/settle").status_code == 409
    assert control.post("pay/refunds/R1/hold").status_code == 409


def test_settling_as_change_or_refundclose(wechat_pay, sandbox, control, make_receiver):
    receiver = make_receiver()
    trade_no = paid_order(wechat_pay, control)
    for out_refund_no in ("R1", "R2"):
        control.post(f"pay/refunds/{out_refund_no}/hold")
    wechat_pay.refund.apply(1000, 600, "R1", out_trade_no=trade_no, notify_url=receiver.url)
    wechat_minute_passes(sandbox.url)
    wechat_pay.refund.apply(1000, 400, "R2", out_trade_no=trade_no)

    assert control.post("pay/refunds/R1/settle", {"result": "MAYBE"}).status_code == 400
    assert control.post("pay/refunds/nope/settle").status_code == 404
    assert control.post("pay/refunds/R1/settle", {"result": "CHANGE"}).status_code == 200
    assert control.post("pay/refunds/R2/settle", {"result": "REFUNDCLOSE"}).status_code == 200

    assert refund_status(wechat_pay, "R1") == ("CHANGE", None)
    assert refund_status(wechat_pay, "R2") == ("REFUNDCLOSE", None)
    control.wait_for_notifies(trade_no, delivered, kind="refund")
    notify = wechat_pay.parse_refund_notify_result(receiver.bodies[0])
    assert (notify["out_refund_no"], notify["refund_status"]) == ("R1", "CHANGE")
    assert "success_time" not in notify
    # A closed refund paid nothing out: its 400 can be refunded again, but no more.
    wechat_minute_passes(sandbox.url)
    wechat_pay.refund.apply(1000, 400, "R3", out_trade_no=trade_no)
    with pytest.raises(WeChatPayException) as over:
        wechat_pay.refund.apply(1000, 1, "R4", out_trade_no=trade_no)
    assert (over.value.errcode, over.value.errmsg) == ("REFUND_FEE_INVALID", "累计退款金额大于支付金额")


def test_the_refund_notify_decrypts_with_wechatpy(wechat_pay, credentials, control,
                                                   make_receiver):
    payments, refunds = make_receiver(), make_receiver()
    trade_no = paid_order(wechat_pay, control, total_fee=2590, notify_url=payments.url)
    paid = wechat_pay.order.query(out_trade_no=trade_no)

    accepted = wechat_pay.refund.apply(2590, 990, "R1", out_trade_no=trade_no,
                                       notify_url=refunds.url)
    attempts = control.wait_for_notifies(trade_no, delivered, kind="refund")

    assert [(a["kind"], a["out_refund_no"], a["url"], a["delivery"], a["attempt"], a["status"])
            for a in attempts] == [("refund", "R1", refunds.url, 1, 1, 200)]
    outer = parse_xml(refunds.bodies[0])
    assert set(outer) == {"return_code", "appid", "mch_id", "nonce_str", "req_info"}
    assert (outer["appid"], outer["mch_id"]) == (credentials.app_id, credentials.mch_id)
    notify = wechat_pay.parse_refund_notify_result(refunds.bodies[0])
    assert (notify["out_refund_no"], notify["refund_id"], notify["refund_status"]) == (
        "R1", accepted["refund_id"], "SUCCESS")
    assert (notify["out_trade_no"], notify["transaction_id"]) == (trade_no,
                                                                  paid["transaction_id"])
    assert (notify["refund_fee"], notify["settlement_refund_fee"]) == (990, 990)
    assert (notify["total_fee"], notify["settlement_total_fee"]) == (2590, 2590)
    assert notify["success_time"] == refund_status(wechat_pay, "R1")[1]
    assert (notify["refund_account"], notify["refund_recv_accout"],
            notify["refund_request_source"]) == ("REFUND_SOURCE_UNSETTLED_FUNDS", "支付用户的零钱",
                                                 "API")
    assert [parse_xml(body).get("req_info") for body in payments.bodies] == [None]


def test_a_refund_draws_on_the_funds_it_names_and_notenough_when_they_fall_short(
        wechat_pay, sandbox, control, make_receiver):
    receiver = make_receiver()
    trade_no = paid_order(wechat_pay, control)
    funds = control.post("pay/refund-funds", {"unsettled_fen": 250, "available_fen": 500})
    assert funds.json() == {"unsettled_fen": 250, "available_fen": 500}

    with pytest.raises(WeChatPayException) as short:
        wechat_pay.refund.apply(1000, 300, "R1", out_trade_no=trade_no)
    assert (short.value.errcode, short.value.errmsg) == ("NOTENOUGH", "交易未结算资金不足，请使用可用余额退款")
    wechat_pay.refund.apply(1000, 300, "R1", out_trade_no=trade_no, notify_url=receiver.url,
                            refund_account="REFUND_SOURCE_RECHARGE_FUNDS")
    wechat_minute_passes(sandbox.url)
    wechat_pay.refund.apply(1000, 250, "R2", out_trade_no=trade_no)
    with pytest.raises(WeChatPayException) as short:
        wechat_pay.refund.apply(1000, 300, "R3", out_trade_no=trade_no,
                                refund_account="REFUND_SOURCE_RECHARGE_FUNDS")
    assert (short.value.errcode, short.value.errmsg) == ("NOTENOUGH", "基本账户余额不足，请充值后重新发起")

    assert control.get("pay/refund-funds").json() == {"unsettled_fen": 0, "available_fen": 200}
    assert control.get("pay/refunds/R1").json()["refund_account"] == "REFUND_SOURCE_RECHARGE_FUNDS"
    control.wait_for_notifies(trade_no, delivered, kind="refund")
    notify = wechat_pay.parse_refund_notify_result(receiver.bodies[0])
    assert notify["refund_account"] == "REFUND_SOURCE_RECHARGE_FUNDS"
    for wrong in ({"unsettled_fen": -1}, {"available_fen": 1.5}, {"other_fen": 1}):
        assert control.post("pay/refund-funds", wrong).status_code == 400
    assert control.post("pay/refund-funds", {"unsettled_fen": None}).json()["unsettled_fen"] \
        is None
    control.post("reset")
    assert control.get("pay/refund-funds").json() == {"unsettled_fen": None,
                                                      "available_fen": None}


def test_an_unacknowledged_refund_notify_is_retried(wechat_pay, control, make_receiver):
    receiver = make_receiver([(200, FAIL_ANSWER), (500, "oops")])
    trade_no = paid_order(wechat_pay, control)

    wechat_pay.refund.apply(1000, 100, "R1", out_trade_no=trade_no, notify_url=receiver.url)
    attempts = control.wait_for_notifies(trade_no, delivered, out_refund_no="R1")

    assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
        (1, 200, False), (2, 500, False), (3, 200, True)]
    notifies = [wechat_pay.parse_refund_notify_result(body) for body in receiver.bodies]
    assert [(n["out_refund_no"], n["refund_status"]) for n in notifies] == [("R1", "SUCCESS")] * 3


def test_at_most_fifty_refunds_per_order(wechat_pay, sandbox, control):
    trade_no = paid_order(wechat_pay, control, total_fee=100)
    for number in range(1, 51):
        wechat_pay.refund.apply(100, 1, f"R{number}", out_trade_no=trade_no)
        wechat_minute_passes(sandbox.url)

    with pytest.raises(WeChatPayException) as refused:
        wechat_pay.refund.apply(100, 1, "R51", out_trade_no=trade_no)

    assert (refused.value.errcode, refused.value.errmsg) == ("ERROR", "订单已经超过可退款的最大次数")
    assert wechat_pay.refund.apply(100, 1, "R50", out_trade_no=trade_no)["out_refund_no"] == "R50"


def test_no_refund_a_year_after_the_payment(wechat_pay, control):
    trade_no = paid_order(wechat_pay, control)
    paid_at = datetime.strptime(wechat_pay.order.query(out_trade_no=trade_no)["time_end"],
                                PAY_TIME)

    aged = control.post(f"pay/orders/{trade_no}/age", {"days": 364})
    assert aged.status_code == 200
    assert aged.json()["time_end"] == (paid_at - timedelta(days=364)).strftime(PAY_TIME)
    wechat_pay.refund.apply(1000, 100, "R1", out_trade_no=trade_no)
    control.post(f"pay/orders/{trade_no}/age", {"days": 2})

    with pytest.raises(WeChatPayException) as refused:
        wechat_pay.refund.apply(1000, 100, "R2", out_trade_no=trade_no)
    assert (refused.value.errcode, refused.value.errmsg) == ("TRADE_OVERDUE", "订单已经超过退款期限")
    assert wechat_pay.order.query(out_trade_no=trade_no)["time_end"] == (
        paid_at - timedelta(days=366)).strftime(PAY_TIME)


def test_aging_needs_an_order_and_a_number_of_days_or_minutes(wechat_pay, control):
    assert control.post("pay/orders/nope/age", {"days": 1}).status_code == 404
    trade_no = paid_order(wechat_pay, control)
    for count in (0, -1, 1.5, "30", True, None):
        assert control.post(f"pay/orders/{trade_no}/age", {"days": count}).status_code == 400
        assert control.post(f"pay/orders/{trade_no}/age", {"minutes": count}).status_code == 400
    unpaid = "F" + uuid.uuid4().hex[:20]
    wechat_pay.order.create(trade_type="NATIVE", body="x", total_fee=1, notify_url=NOWHERE,
                            client_ip="127.0.0.1", out_trade_no=unpaid)
    placed_at = control.get(f"pay/orders/{unpaid}").json()["placed_at"]
    aged = control.post(f"pay/orders/{unpaid}/age", {"minutes": 90}).json()
    assert aged["placed_at"] == (datetime.strptime(placed_at, PAY_TIME)
                                 - timedelta(minutes=90)).strftime(PAY_TIME)
    assert aged["time_end"] == ""


def test_reset_stops_a_refund_from_settling(wechat_pay, control, make_receiver, slow_settling):
    receiver = make_receiver()
    trade_no = paid_order(wechat_pay, control)
    wechat_pay.refund.apply(1000, 100, "R1", out_trade_no=trade_no, notify_url=receiver.url)

    control.post("reset")
    time.sleep(SLOW_SCALE * 2)  # twice the settling delay

    assert receiver.bodies == []
    assert control.get("pay/refunds/R1").status_code == 404


def test_a_new_refund_of_an_order_waits_a_minute_after_its_last(wechat_pay, control):
    trade_no, other = paid_order(wechat_pay, control), paid_order(wechat_pay, control)
    wechat_pay.refund.apply(1000, 300, "R1", out_trade_no=trade_no)

    for seconds in (1, 58):  # 1 s, then 59 s after the first refund
        control.post("clock/advance", {"seconds": seconds})
        with pytest.raises(WeChatPayException) as limited:
            wechat_pay.refund.apply(1000, 300, "R2", out_trade_no=trade_no)
        assert limited.value.errcode == "FREQUENCY_LIMITED"
    assert control.get("pay/refunds/R2").status_code == 404
    # The same refund asked for again is not a new request; another order's refund is apart.
    assert wechat_pay.refund.apply(1000, 300, "R1", out_trade_no=trade_no)["out_refund_no"] \
        == "R1"
    wechat_pay.refund.apply(1000, 300, "S1", out_trade_no=other)

    control.post("clock/advance", {"seconds": 1})
    assert wechat_pay.refund.apply(1000, 300, "R2", out_trade_no=trade_no)["out_refund_no"] \
        == "R2"
    with pytest.raises(WeChatPayException) as limited:
        wechat_pay.refund.apply(1000, 300, "R3", out_trade_no=trade_no)
    assert limited.value.errcode == "FREQUENCY_LIMITED"
    assert control.get(f"pay/orders/{trade_no}").json()["refunded_fee"] == 600
