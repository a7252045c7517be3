import uuid
from datetime import datetime, timedelta, timezone

import pytest
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from tests.conftest import wechat_minute_passes

HMAC = "HMAC-SHA256"
NOTIFY_URL = "http://127.0.0.1:9/notify"  # nothing listens there; these tests do not pay
SHANGHAI = timezone(timedelta(hours=8))


def new_trade_no():
    return "T" + uuid.uuid4().hex[:20]


def create_order(pay, out_trade_no, total_fee=1990, **extra):
    return pay.order.create(trade_type="JSAPI", body="鱼塘 会员卡", total_fee=total_fee,
                            notify_url=NOTIFY_URL, client_ip="127.0.0.1",
                            user_id="o-alice", out_trade_no=out_trade_no, **extra)


def assert_signed(answer, key, sign_type="MD5"):
    fields = {name: value for name, value in answer.items() if name != "sign"}
    calculate = calculate_signature_hmac if sign_type == HMAC else calculate_signature
    assert answer["sign"] == calculate(fields, key)


def pay_order(control, out_trade_no):
    assert control.post(f"pay/orders/{out_trade_no}/pay").status_code == 200


def age(control, out_trade_no, minutes):
    """The order was placed (and paid, if it was) `minutes` earlier."""
    assert control.post(f"pay/orders/{out_trade_no}/age", {"minutes": minutes}).status_code == 200


def test_order_life_cycle_through_wechatpy(wechat_pay, credentials, control):
    trade_no = new_trade_no()
    created = create_order(wechat_pay, trade_no, attach="brand=demo")
    assert created["prepay_id"].startswith("wx") and created["trade_type"] == "JSAPI"
    assert created["appid"] == credentials.app_id and created["mch_id"] == credentials.mch_id
    assert_signed(created, credentials.mch_key)

    unpaid = wechat_pay.order.query(out_trade_no=trade_no)
    assert (unpaid["trade_state"], unpaid["total_fee"]) == ("NOTPAY", "1990")
    assert "transaction_id" not in unpaid

    pay_order(control, trade_no)
    paid = wechat_pay.order.query(out_trade_no=trade_no)
    assert paid["trade_state"] == "SUCCESS" and paid["attach"] == "brand=demo"
    assert paid["openid"] == "o-alice" and paid["cash_fee"] == "1990"
    assert len(paid["time_end"]) == 14 and paid["bank_type"]
    by_transaction = wechat_pay.order.query(transaction_id=paid["transaction_id"])
    assert by_transaction["out_trade_no"] == trade_no

    with pytest.raises(WeChatPayException) as refused:
        wechat_pay.order.close(trade_no)
    assert refused.value.errcode == "ORDERPAID"


def test_closing_an_unpaid_order_is_final_and_once(wechat_pay, control):
    trade_no = new_trade_no()
    create_order(wechat_pay, trade_no)
    age(control, trade_no, 5)

    assert wechat_pay.order.close(trade_no)["result_code"] == "SUCCESS"
    with pytest.raises(WeChatPayException) as again:
        wechat_pay.order.close(trade_no)
    assert again.value.errcode == "ORDERCLOSED"
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "CLOSED"
    with pytest.raises(WeChatPayException) as refused:
        create_order(wechat_pay, trade_no)
    assert refused.value.errcode == "ORDERCLOSED"
    assert control.post(f"pay/orders/{trade_no}/pay").status_code == 409


def test_no_close_within_five_minutes_of_the_order_and_it_stays_payable(wechat_pay, control):
    trade_no = new_trade_no()
    create_order(wechat_pay, trade_no)
    age(control, trade_no, 4)

    with pytest.raises(WeChatPayException) as refused:
        wechat_pay.order.close(trade_no)

    assert refused.value.errcode == "SYSTEMERROR"
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "NOTPAY"
    pay_order(control, trade_no)
    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "SUCCESS"


def test_placing_the_same_order_again(wechat_pay, control):
    """The same parameters give the same prepay id; WeChat refuses any change, time_start
    and time_expire included (wechatpy sets both anew unless told)."""
    trade_no = new_trade_no()
    start = datetime.now(SHANGHAI).replace(microsecond=0)
    times = {"time_start": start, "time_expire": start + timedelta(minutes=15)}
    first = create_order(wechat_pay, trade_no, **times)

    assert create_order(wechat_pay, trade_no, **times)["prepay_id"] == first["prepay_id"]
    for changed in ({**times, "total_fee": 1},
                    {**times, "time_start": start - timedelta(seconds=1)},
                    {**times, "time_expire": start + timedelta(minutes=30)},
                    {}):
        with pytest.raises(WeChatPayException) as refused:
            create_order(wechat_pay, trade_no, **changed)
        assert (refused.value.errcode, refused.value.errmsg) == ("INVALID_REQUEST",
                                                                 "201 商户订单号重复")
    pay_order(control, trade_no)
    with pytest.raises(WeChatPayException) as paid:
        create_order(wechat_pay, trade_no, **times)
    assert paid.value.errcode == "ORDERPAID"


def test_time_expire_must_be_five_minutes_ahead(wechat_pay):
    trade_no, now = new_trade_no(), datetime.now(SHANGHAI)
    with pytest.raises(WeChatPayException) as refused:
        create_order(wechat_pay, trade_no, time_expire=now + timedelta(minutes=4, seconds=50))
    assert (refused.value.errcode, refused.value.errmsg) == (
        "PARAM_ERROR", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
    with pytest.raises(WeChatPayException):
        wechat_pay.order.query(out_trade_no=trade_no)  # nothing was placed

    assert create_order(wechat_pay, trade_no, time_expire=now + timedelta(minutes=6))


def test_a_prepay_id_lives_two_hours(wechat_pay, control):
    trade_no = new_trade_no()
    start = datetime.now(SHANGHAI)
    times = {"time_start": start, "time_expire": start + timedelta(hours=3)}
    first = create_order(wechat_pay, trade_no, **times)["prepay_id"]
    age(control, trade_no, 119)
    assert create_order(wechat_pay, trade_no, **times)["prepay_id"] == first
    age(control, trade_no, 1)

    second = create_order(wechat_pay, trade_no, **times)["prepay_id"]

    assert second != first
    stale = control.post(f"pay/orders/{trade_no}/pay", {"prepay_id": first})
    assert stale.status_code == 409
    assert control.post(f"pay/orders/{trade_no}/pay", {"prepay_id": second}).status_code == 200


def test_unknown_orders(wechat_pay):
    for call in (lambda: wechat_pay.order.query(out_trade_no="nope"),
                 lambda: wechat_pay.order.close("nope")):
        with pytest.raises(WeChatPayException) as missing:
            call()
        assert missing.value.errcode == "ORDERNOTEXIST"


def test_jsapi_needs_an_openid(wechat_pay):
    with pytest.raises(WeChatPayException) as refused:
        wechat_pay.order.create(trade_type="JSAPI", body="x", total_fee=1, notify_url=NOTIFY_URL,
                                client_ip="127.0.0.1", out_trade_no=new_trade_no())
    assert refused.value.result_code == "FAIL"


def test_a_wrong_merchant_key_fails_the_signature(make_wechat_pay):
    with pytest.raises(WeChatPayException) as refused:
        create_order(make_wechat_pay(api_key="0" * 32), new_trade_no())
    assert refused.value.return_code == "FAIL"
    assert refused.value.return_msg == "签名错误"


def test_a_wrong_app_id_is_refused(wechat_pay):
    wechat_pay.appid = "wxnotthisapp"
    with pytest.raises(WeChatPayException) as refused:
        create_order(wechat_pay, new_trade_no())
    assert refused.value.return_code == "FAIL"


def test_refunds_are_idempotent_and_bounded(wechat_pay, sandbox, credentials, control):
    trade_no = new_trade_no()
    create_order(wechat_pay, trade_no, total_fee=1000)
    with pytest.raises(WeChatPayException) as unpaid:
        wechat_pay.refund.apply(1000, 100, "R1", out_trade_no=trade_no)
    assert (unpaid.value.errcode, unpaid.value.errmsg) == ("ORDERNOTEXIST", "订单号不存在")
    pay_order(control, trade_no)

    first = wechat_pay.refund.apply(1000, 600, "R1", out_trade_no=trade_no)
    again = wechat_pay.refund.apply(1000, 600, "R1", out_trade_no=trade_no)
    assert_signed(first, credentials.mch_key)
    assert first["refund_id"] == again["refund_id"]
    assert (first["refund_fee"], first["out_refund_no"]) == ("600", "R1")
    with pytest.raises(WeChatPayException) as over:
        wechat_pay.refund.apply(1000, 500, "R2", out_trade_no=trade_no)
    assert over.value.errcode == "REFUND_FEE_INVALID"
    with pytest.raises(WeChatPayException) as wrong_total:
        wechat_pay.refund.apply(999, 100, "R3", out_trade_no=trade_no)
    assert wrong_total.value.errcode == "INVALID_REQUEST"
    wechat_minute_passes(sandbox.url)
    wechat_pay.refund.apply(1000, 400, "R4", out_trade_no=trade_no)

    assert wechat_pay.order.query(out_trade_no=trade_no)["trade_state"] == "REFUND"
    refunds = wechat_pay.refund.query(out_trade_no=trade_no)
    assert refunds["refund_count"] == "2"
    assert {refunds["out_refund_no_0"], refunds["out_refund_no_1"]} == {"R1", "R4"}
    order = control.get(f"pay/orders/{trade_no}").json()
    assert order["refunded_fee"] == 1000 and len(order["refunds"]) == 2


def test_hmac_sha256_requests_get_hmac_sha256_answers(wechat_pay, credentials, control):
    key, trade_no = credentials.mch_key, new_trade_no()
    created = create_order(wechat_pay, trade_no, sign_type=HMAC)
    assert_signed(created, key, HMAC)

    def call(endpoint, **fields):
        return wechat_pay.post(endpoint, data={"appid": credentials.app_id, "sign_type": HMAC,
                                               **fields})

    pay_order(control, trade_no)
    queried = call("pay/orderquery", out_trade_no=trade_no)
    assert_signed(queried, key, HMAC)
    assert queried["trade_state"] == "SUCCESS"
    refunded = call("secapi/pay/refund", out_trade_no=trade_no, out_refund_no="R1",
                    total_fee=1990, refund_fee=1990)
    assert_signed(refunded, key, HMAC)
    with pytest.raises(WeChatPayException) as over:
        call("secapi/pay/refund", out_trade_no=trade_no, out_refund_no="R2", total_fee=1990,
             refund_fee=1)
    assert over.value.errcode == "REFUND_FEE_INVALID"
    closing = new_trade_no()
    create_order(wechat_pay, closing, sign_type=HMAC)
    age(control, closing, 5)
    assert_signed(call("pay/closeorder", out_trade_no=closing), key, HMAC)
