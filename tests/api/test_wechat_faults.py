"""WeChat failing as it does (the sandbox's scripted faults): the minute job goes on with the
other orders, an order WeChat did not answer for stays as it was and is asked about again,
and nothing is lost or counted twice."""
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _sku
from tests.api.test_payments import _order, _place, _post
from tests.conftest import STORE_A


def _past_the_timeout():
    """Seconds a little past the pay client's timeout."""
    from chalicelib import wechat

    return wechat.pay().pay.timeout + 0.5


FAULTS = {
    "SYSTEMERROR": lambda: {"err_code": "SYSTEMERROR"},
    "http_503": lambda: {"http_status": 503},
    "slow": lambda: {"delay_s": _past_the_timeout()},
}


def _paying(client, headers, sandbox_url, paid, stock=2):
    """An order whose payment the shopper started (and, if `paid`, made in WeChat) while the
    notify never arrives: (its id, its SKU)."""
    sku = _sku(stock=stock)
    order = _place(client, headers, sku)
    assert _post(client, f"/orders/{order['order_id']}/pay", headers).status_code == 200
    if paid:
        assert requests.post(f"{sandbox_url}/__sandbox__/pay/orders/{order['order_id']}/pay",
                             timeout=5).status_code == 200
    return order["order_id"], sku


@pytest.fixture
def lost_notifies(monkeypatch):
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # nothing listens there


def _minutes_later(minutes):
    return FixedClock(datetime.now(timezone.utc) + timedelta(minutes=minutes))


@pytest.mark.parametrize("fault", FAULTS)
def test_reconciliation_goes_on_past_an_order_wechat_fails_and_asks_again(
        client, shopper, sandbox_url, wechat_faults, lost_notifies, fault):
    from chalicelib.checkout import lifecycle
    from chalicelib.members.models import Member

    headers, member_id = shopper
    failing, _ = _paying(client, headers, sandbox_url, paid=True)
    other, _ = _paying(client, headers, sandbox_url, paid=True)
    wechat_faults.add("/pay/orderquery", match={"out_trade_no": failing}, **FAULTS[fault]())

    lifecycle.run_minute_job(clock=_minutes_later(4))

    assert (_order(failing).status, _order(other).status) == ("PENDING_PAYMENT", "PAID")
    assert wechat_faults.pending() == []
    lifecycle.run_minute_job(clock=_minutes_later(5))
    assert _order(failing).status == "PAID"
    assert Member.get(member_id, consistent_read=True).points_balance == 200  # 100 an order


@pytest.mark.parametrize("fault", FAULTS)
def test_expiry_goes_on_past_an_order_wechat_fails_and_closes_it_next_run(
        client, shopper, sandbox_url, wechat_faults, fault):
    from chalicelib.catalog.stock import current
    from chalicelib.checkout import lifecycle
    from chalicelib.jobs import minutes

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
