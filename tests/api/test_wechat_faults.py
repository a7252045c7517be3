"""WeChat failing as it does (the sandbox's scripted faults): the jobs that ask WeChat one
order at a time (orders, refunds, groups) go on with the others, and the one WeChat did not
answer for stays as it was and is asked about again; notifies come duplicated, out of order
and after the close; a login WeChat fails is retried with a new code. Nothing is lost or
counted twice."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _sku
from tests.api.test_payments import _order, _place, _post, _wait_for, _wechat_order
from tests.conftest import JSON, STORE_A, body_of, sign_in


def _past_the_timeout():
    """Seconds a little past the pay client's timeout."""
    from chalicelib import wechat

    return wechat.pay().pay.timeout + 0.5


FAULTS = {
    "SYSTEMERROR": lambda: {"err_code": "SYSTEMERROR"},
    "http_503": lambda: {"http_status": 503},
    "slow": lambda: {"delay_s": _past_the_timeout()},
}


def _paying(client, headers, sandbox_url, paid):
    """An order of one of 2 units whose payment the shopper started, and if `paid`, made in
    WeChat: (its id, its SKU)."""
    sku = _sku(stock=2)
    order = _place(client, headers, sku)
    assert _post(client, f"/orders/{order['order_id']}/pay", headers).status_code == 200
    if paid:
        assert requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay",
                             timeout=5).status_code == 200
    return order["order_id"], sku


@pytest.fixture
def lost_notifies(monkeypatch):
    """Payment notifies never arrive: only asking WeChat finds a payment."""
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # nothing listens there


def _minutes_later(minutes):
    return FixedClock(datetime.now(timezone.utc) + timedelta(minutes=minutes))


@pytest.mark.parametrize("fault", FAULTS)
def test_reconciliation_goes_on_past_an_order_wechat_fails_and_asks_again(
        client, shopper, sandbox_url, wechat_faults, lost_notifies, fault):
    from chalicelib.orders import closing as lifecycle
    from chalicelib.members.models import Member
    from devtools import streams

    headers, member_id = shopper
    failing, _ = _paying(client, headers, sandbox_url, paid=True)
    other, _ = _paying(client, headers, sandbox_url, paid=True)
    wechat_faults.add("/pay/orderquery", match={"out_trade_no": failing}, **FAULTS[fault]())

    lifecycle.run_minute_job(clock=_minutes_later(4))

    assert (_order(failing).status, _order(other).status) == ("PENDING_PAYMENT", "PAID")
    assert wechat_faults.pending() == []
    lifecycle.run_minute_job(clock=_minutes_later(5))
    assert _order(failing).status == "PAID"
    streams.drain()  # the payments' effects, from the orders stream
    assert Member.get(member_id, consistent_read=True).points_balance == 200  # 100 an order


@pytest.mark.parametrize("fault", FAULTS)
def test_expiry_goes_on_past_an_order_wechat_fails_and_closes_it_next_run(
        client, shopper, sandbox_url, wechat_faults, fault):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import closing as lifecycle
    from chalicelib.db import cursors as minutes

    headers, _ = shopper
    failing, failing_sku = _paying(client, headers, sandbox_url, paid=False)
    other, other_sku = _paying(client, headers, sandbox_url, paid=False)
    wechat_faults.add("/pay/orderquery", match={"out_trade_no": failing}, **FAULTS[fault]())
    pay_by = _order(failing).pay_by
    # Another test's run may have covered these minutes (the job's cursor is the brand's).
    minutes.cover(lifecycle.JOB, pay_by - timedelta(minutes=2), pay_by)

    lifecycle.run_minute_job(clock=FixedClock(pay_by + timedelta(minutes=2)))

    assert (_order(failing).status, _order(other).status) == ("PENDING_PAYMENT", "CLOSED")
    assert (current(STORE_A, failing_sku), current(STORE_A, other_sku)) == (1, 2)
    lifecycle.run_minute_job(clock=FixedClock(pay_by + timedelta(minutes=3)))
    assert _order(failing).status == "CLOSED"
    assert current(STORE_A, failing_sku) == 2


def _control(sandbox_url, order_id, action, body=None):
    answer = requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order_id}/{action}",
                           json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _delivered(sandbox_url, order_id, count):
    _wait_for(lambda: sum(attempt["delivered"] for attempt in requests.get(
        f"{sandbox_url}/__sandbox__/pay/notifies", params={"out_trade_no": order_id},
        timeout=5).json()) == count)


def test_a_payment_notify_duplicated_at_the_same_moment_counts_once(
        client, shopper, served_app, sandbox_url):
    from chalicelib.members.models import Member
    from chalicelib.members.points import ledger_page

    headers, member_id = shopper
    order_id, _ = _paying(client, headers, sandbox_url, paid=False)
    _control(sandbox_url, order_id, "notifies/hold")
    _control(sandbox_url, order_id, "pay")

    _control(sandbox_url, order_id, "notifies/release", {"copies": 5})
    _delivered(sandbox_url, order_id, 5)

    assert _order(order_id).status == "PAID"
    assert Member.get(member_id, consistent_read=True).points_balance == 100
    assert [e["source"] for e in ledger_page(member_id, 10)["entries"]] == ["order"]


def test_a_refund_notify_before_its_payment_notify_leaves_the_order_refunded_once(
        client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import payments
    from chalicelib.members.models import Member

    headers, member_id = shopper
    order_id, sku = _paying(client, headers, sandbox_url, paid=False)
    _control(sandbox_url, order_id, "notifies/hold")
    _control(sandbox_url, order_id, "pay")
    payments.reconcile(_order(order_id))  # the minute job finds the payment
    asked = _post(client, f"/orders/{order_id}/refund", headers, {"reason": "不要了"})
    assert asked.status_code == 201, asked.body
    _wait_for(lambda: _wechat_order(sandbox_url, order_id)["refunds"][0]["status"]
              == "SUCCESS")

    assert _control(sandbox_url, order_id, "notifies/release", {"reverse": True}) \
        == {"out_trade_no": order_id, "released": 2}
    _delivered(sandbox_url, order_id, 2)

    assert _order(order_id).status == "REFUNDED" and current(STORE_A, sku) == 2
    member = Member.get(member_id, consistent_read=True)
    assert (member.points_balance, member.growth) == (0, 0)
    assert len(_wechat_order(sandbox_url, order_id)["refunds"]) == 1


def test_a_payment_notify_after_the_close_is_refunded_in_full(
        client, shopper, served_app, sandbox_url):
    from chalicelib.catalog.stock import current

    headers, _ = shopper
    order_id, sku = _paying(client, headers, sandbox_url, paid=False)
    assert _post(client, f"/orders/{order_id}/cancel", headers).status_code == 200

    _control(sandbox_url, order_id, "pay-after-close")
    _delivered(sandbox_url, order_id, 1)

    assert _order(order_id).status == "CLOSED" and current(STORE_A, sku) == 2
    _wait_for(lambda: _wechat_order(sandbox_url, order_id)["refunded_fee"]
              == _order(order_id).total_fen)


@pytest.mark.parametrize("fault", [{"errcode": -1}, {"http_status": 503}, "slow"])
def test_a_login_wechat_fails_answers_502_and_the_next_code_signs_in(
        client, wechat_user, wechat_faults, fault):
    if fault == "slow":
        from chalicelib import wechat

        fault = {"delay_s": wechat.mini_program().client.timeout + 0.5}
    code = wechat_user.login_code()
    wechat_faults.add("/sns/jscode2session", match={"js_code": code}, **fault)

    failed = client.http.post("/auth/login", headers=JSON, body=json.dumps({"code": code}))

    assert failed.status_code == 502
    assert body_of(failed)["error"]["code"] == "wechat_unavailable"
    assert sign_in(client, wechat_user)[1]["member"]["member_id"]


def test_a_failed_group_refunds_its_paid_members_past_a_seat_wechat_fails_for(
        client, served_app, sandbox_url, wechat_faults):
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.groups import campaigns, completion as life
    from tests.api.test_group_buys import _campaign, _group_of, _join, _open, _pay, _shopper

    sku = _sku(stock=10)
    campaign = _campaign(sku, size=4)
    shoppers = [_shopper(client)[0] for _ in range(4)]
    orders = [_open(client, shoppers[0], campaign, sku)]
    group_id = _group_of(orders[0]["order_id"])
    orders += [body_of(_join(client, headers, group_id)) for headers in shoppers[1:]]
    _pay(client, sandbox_url, shoppers[0], orders[0])
    _pay(client, sandbox_url, shoppers[1], orders[1])
    for headers, order in zip(shoppers[2:], orders[2:]):  # started paying, never paid
        assert _post(client, f"/orders/{order['order_id']}/pay", headers).status_code == 200
    failing, unpaid = orders[2]["order_id"], orders[3]["order_id"]
    wechat_faults.add("/pay/orderquery", match={"out_trade_no": failing}, http_status=503)
    after = FixedClock(campaigns.get_group(group_id).expires_at + timedelta(minutes=1))

    life.run_job(clock=after)

    assert campaigns.get_group(group_id).status == "FAILED"
    for order in orders[:2]:
        wechat = _wechat_order(sandbox_url, order["order_id"])
        assert len(wechat["refunds"]) == 1 and wechat["refunded_fee"] == order["total_fen"]
    assert (_order(failing).status, _order(unpaid).status) == ("PENDING_PAYMENT", "CLOSED")
    life.run_job(clock=after)  # the group is still due: its last seat is seen to
    assert _order(failing).status == "CLOSED"
    for order in orders[:2]:
        assert len(_wechat_order(sandbox_url, order["order_id"])["refunds"]) == 1
    _wait_for(lambda: current(STORE_A, sku) == 10)


@pytest.mark.parametrize("fault", FAULTS)
def test_the_refunds_job_goes_on_past_a_refund_wechat_fails_to_tell_about(
        client, shopper, served_app, sandbox_url, wechat_faults, monkeypatch, fault):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import refunds
    from tests.api.test_refunds import _held_refund, _paid, _refund_status

    headers, _ = shopper
    skus = [_sku(stock=2) for _ in range(2)]
    orders = [_paid(client, sandbox_url, headers, sku) for sku in skus]
    refund_ids = [_held_refund(client, sandbox_url, headers, order, monkeypatch)["refund_id"]
                  for order in orders]
    _wait_for(lambda: all(_wechat_order(sandbox_url, order["order_id"])["refunds"][0]["status"]
                          == "SUCCESS" for order in orders))
    wechat_faults.add("/pay/refundquery", match={"out_refund_no": refund_ids[0]},
                      **FAULTS[fault]())

    def statuses():
        return [_refund_status(order["order_id"], refund_id)
                for order, refund_id in zip(orders, refund_ids)]

    refunds.follow_up()

    assert statuses() == ["PROCESSING", "SUCCESS"]
    assert [current(STORE_A, sku) for sku in skus] == [1, 2]
    refunds.follow_up()
    assert statuses() == ["SUCCESS", "SUCCESS"]
    assert [current(STORE_A, sku) for sku in skus] == [2, 2]
    assert all(len(_wechat_order(sandbox_url, order["order_id"])["refunds"]) == 1
               for order in orders)
