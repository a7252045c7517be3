"""Faults the sandbox makes when told to, on any WeChat path, as WeChat makes them; notifies
held, then delivered out of order, duplicated, or after the order closed."""
import time

import pytest
import requests
from wechatpy.exceptions import WeChatClientException, WeChatPayException
from wechatpy.pay import WeChatPay

from sandbox.signing import parse_xml
from tests.sandbox.test_notify import delivered, place_order
from tests.sandbox.test_pay import assert_signed, create_order, new_trade_no


@pytest.mark.parametrize("err_code", ["SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED"])
def test_an_error_code_hits_the_matching_requests_its_number_of_times(
        wechat_pay, wechat_faults, credentials, err_code):
    trade_no, other = new_trade_no(), new_trade_no()
    create_order(wechat_pay, trade_no)
    create_order(wechat_pay, other)
    wechat_faults.add("/pay/orderquery", err_code=err_code, match={"out_trade_no": trade_no},
                      times=2)

    assert wechat_pay.order.query(out_trade_no=other)["trade_state"] == "NOTPAY"
    for _ in range(2):
        with pytest.raises(WeChatPayException) as failed:
            wechat_pay.order.query(out_trade_no=trade_no)
        assert (failed.value.return_code, failed.value.result_code) == ("SUCCESS", "FAIL")
        assert failed.value.errcode == err_code and failed.value.errmsg
        assert_signed(parse_xml(failed.value.response.content), credentials.mch_key)
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "NOTPAY"
    assert wechat_faults.pending() == []


def test_an_error_code_changes_nothing(wechat_pay, wechat_faults, control):
    trade_no = new_trade_no()
    create_order(wechat_pay, trade_no)
    wechat_faults.add("/pay/closeorder", err_code="SYSTEMERROR")

    with pytest.raises(WeChatPayException):
        wechat_pay.order.close(trade_no)
    assert control.get(f"pay/orders/{trade_no}").json()["trade_state"] == "NOTPAY"


def test_a_request_the_fault_hits_is_still_checked_first(make_wechat_pay, wechat_faults):
    wechat_faults.add("/pay/orderquery", err_code="SYSTEMERROR")

    with pytest.raises(WeChatPayException) as refused:
        make_wechat_pay(api_key="0" * 32).order.query(out_trade_no=new_trade_no())
    assert (refused.value.return_code, refused.value.return_msg) == ("FAIL", "签名错误")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_http_error_answers_a_gateway_page_and_serves_nothing(
        wechat_pay, wechat_faults, status):
    trade_no = new_trade_no()
    wechat_faults.add("/pay/unifiedorder", http_status=status)

    with pytest.raises(WeChatPayException) as failed:
        create_order(wechat_pay, trade_no)
    assert failed.value.errcode is None and failed.value.response.status_code == status
    assert failed.value.response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(WeChatPayException) as missing:
        wechat_pay.order.query(out_trade_no=trade_no)
    assert missing.value.errcode == "ORDERNOTEXIST"


def test_a_slow_answer_times_the_client_out_and_is_served_all_the_same(
        sandbox, credentials, wechat_pay, wechat_faults, control):
    impatient = WeChatPay(credentials.app_id, credentials.mch_key, credentials.mch_id,
                          timeout=0.2)
    impatient.API_BASE_URL = f"{sandbox.url}/"
    trade_no = new_trade_no()
    create_order(wechat_pay, trade_no)
    wechat_faults.add("/pay/closeorder", delay_s=1)

    with pytest.raises(requests.Timeout):
        impatient.order.close(trade_no)
    assert control.get(f"pay/orders/{trade_no}").json()["trade_state"] == "CLOSED"


def test_mini_program_paths_fail_with_an_errcode(wechat_client, wechat_faults):
    wechat_faults.add("/sns/jscode2session", errcode=-1, match={"js_code": "sandbox:alice:1"})

    with pytest.raises(WeChatClientException) as failed:
        wechat_client.wxa.code_to_session("sandbox:alice:1")
    assert failed.value.errcode == -1
    assert wechat_client.wxa.code_to_session("sandbox:alice:2")["openid"]


def test_mini_program_paths_fail_with_an_http_error(wechat_client, wechat_faults):
    wechat_faults.add("/cgi-bin/token", http_status=502)

    with pytest.raises(WeChatClientException) as failed:
        wechat_client.fetch_access_token()
    assert failed.value.response.status_code == 502
    assert wechat_client.fetch_access_token()["access_token"]


@pytest.mark.parametrize("fault, complaint", [
    ({"path": "/pay/nothing", "err_code": "SYSTEMERROR"}, "path"),
    ({"path": "/__sandbox__/reset", "http_status": 503}, "path"),
    ({"path": "/pay/orderquery"}, "needs"),
    ({"path": "/pay/orderquery", "errcode": -1}, "err_code"),
    ({"path": "/sns/jscode2session", "err_code": "SYSTEMERROR"}, "errcode"),
    ({"path": "/pay/orderquery", "err_code": "systemerror"}, "err_code"),
    ({"path": "/pay/orderquery", "err_code": "SYSTEMERROR", "http_status": 503}, "one of"),
    ({"path": "/pay/orderquery", "http_status": 404}, "http_status"),
    ({"path": "/pay/orderquery", "delay_s": 0}, "delay_s"),
    ({"path": "/pay/orderquery", "delay_s": 61}, "delay_s"),
    ({"path": "/pay/orderquery", "http_status": 503, "times": 0}, "times"),
    ({"path": "/pay/orderquery", "http_status": 503, "match": {"out_trade_no": 1}}, "match"),
])
def test_a_fault_is_described_exactly(control, fault, complaint):
    answer = control.post("faults", fault)
    assert answer.status_code == 400 and complaint in answer.json()["errmsg"]


def test_faults_are_listed_and_cleared_by_delete_and_by_reset(
        wechat_pay, wechat_faults, control):
    wechat_faults.add("/pay/orderquery", http_status=503, times=3)
    with pytest.raises(WeChatPayException):
        wechat_pay.order.query(out_trade_no=new_trade_no())
    assert [(fault["path"], fault["times"], fault["hits"]) for fault in wechat_faults.pending()] \
        == [("/pay/orderquery", 3, 1)]

    wechat_faults.clear()
    assert wechat_faults.pending() == []
    wechat_faults.add("/pay/orderquery", http_status=503)
    assert control.post("reset").status_code == 200
    assert wechat_faults.pending() == []


def held_paid_order(wechat_pay, control, receiver):
    trade_no = place_order(wechat_pay, receiver.url)
    assert control.post(f"pay/orders/{trade_no}/notifies/hold").status_code == 200
    assert control.post(f"pay/orders/{trade_no}/pay").status_code == 200
    return trade_no


def test_held_notifies_arrive_when_released_out_of_order(wechat_pay, control, make_receiver):
    receiver = make_receiver()
    trade_no = held_paid_order(wechat_pay, control, receiver)
    wechat_pay.refund.apply(total_fee=2590, refund_fee=2590, out_refund_no=f"R{trade_no}",
                            out_trade_no=trade_no, notify_url=receiver.url)
    while control.get(f"pay/refunds/R{trade_no}").json()["status"] == "PROCESSING":
        time.sleep(0.01)
    assert control.wait_for_notifies(trade_no, delivered, timeout_s=0.2) == []

    released = control.post(f"pay/orders/{trade_no}/notifies/release", {"reverse": True})
    assert released.json()["released"] == 2
    attempts = control.wait_for_notifies(trade_no, lambda found: len(found) == 2)

    assert [attempt["kind"] for attempt in attempts] == ["refund", "payment"]
    assert "req_info" in parse_xml(receiver.bodies[0])
    assert wechat_pay.parse_payment_result(receiver.bodies[1])["result_code"] == "SUCCESS"


def test_released_copies_of_a_notify_arrive_at_the_same_moment(
        wechat_pay, control, make_receiver):
    receiver = make_receiver()
    trade_no = held_paid_order(wechat_pay, control, receiver)

    control.post(f"pay/orders/{trade_no}/notifies/release", {"copies": 3})
    attempts = control.wait_for_notifies(trade_no, lambda found: len(found) == 3)

    assert sorted((a["delivery"], a["copy"], a["delivered"]) for a in attempts) \
        == [(1, 1, True), (1, 2, True), (1, 3, True)]
    assert len(set(receiver.bodies)) == 1
    control.post(f"pay/orders/{trade_no}/renotify")
    assert len(control.wait_for_notifies(trade_no, lambda found: len(found) == 4)) == 4


def test_a_payment_can_land_after_the_close_and_notify_late(wechat_pay, control, make_receiver):
    receiver = make_receiver()
    trade_no = place_order(wechat_pay, receiver.url)
    wechat_pay.order.close(trade_no)

    assert control.post(f"pay/orders/{trade_no}/pay-after-close").status_code == 200
    control.wait_for_notifies(trade_no, delivered)

    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "SUCCESS"
    assert wechat_pay.parse_payment_result(receiver.bodies[0])["out_trade_no"] == trade_no
    assert control.post(f"pay/orders/{trade_no}/pay-after-close").status_code == 409


def test_notify_controls_refuse_what_they_cannot_do(wechat_pay, control, make_receiver):
    trade_no = held_paid_order(wechat_pay, control, make_receiver())
    release = f"pay/orders/{trade_no}/notifies/release"
    assert control.post(release, {"copies": 0}).status_code == 400
    assert control.post(release, {"reverse": "yes"}).status_code == 400
    assert control.post("pay/orders/nope/notifies/release").status_code == 409
    assert control.post("pay/orders/nope/pay-after-close").status_code == 404

    control.post("reset")
    assert control.post(release).status_code == 409
