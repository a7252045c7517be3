"""Unpaid orders: closing them (expired, or cancelled by the shopper) gives back everything
they held, and the minute job finds them through the sparse pending-by-minute index, so it
reads only the orders placed (or closed) in the minutes it acts on; a paid order it meets
there is passed over.

Closing and paying race on one condition (the order is still PENDING_PAYMENT): exactly one
wins. Before closing we ask WeChat, and a payment that still lands on a closed order is
refunded (see payments.record_payment).

WeChat refuses to close its order in the first 5 minutes after it was placed (and a close it
did not answer may not have happened), while the shopper can still pay it. Ours closes at
once all the same; it stays in the pending-by-minute index, and each minute the job asks
WeChat about it (a payment found is recorded, so refunded) and closes WeChat's when WeChat
allows it. Only then does it leave the index.
"""
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.orders import channels, payments
from chalicelib.orders.models import Order
from chalicelib.orders.placing import (CLOSED, PENDING_PAYMENT, get_own, pending_in,
                                       pending_minute)
from chalicelib.config import settings
from chalicelib.core import logs, retry
from chalicelib.core.clock import MINUTE
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.db import cursors as minutes

CATCH_UP = timedelta(hours=24)
RECONCILE_AFTER = timedelta(minutes=3)
WECHAT_CLOSES_AFTER = timedelta(minutes=5)  # WeChat refuses closeorder before
JOB = "orders-minute"  # its cursor (db/cursors.py)


def _release(order, reason, now, ask_wechat_at=None):
    """One transaction: the order closes and its channel gives back what it held (stock or
    shards, a coupon, points, a seat). With ask_wechat_at (a minute), it stays in the
    pending-by-minute index."""
    with transaction() as writes:
        writes.update(order, actions=[Order.status.set(CLOSED), Order.closed_at.set(now),
                                      Order.close_reason.set(reason),
                                      Order.pending_minute.set(ask_wechat_at)
                                      if ask_wechat_at else Order.pending_minute.remove()],
                      condition=Order.status == PENDING_PAYMENT, name="order")
        channels.of(order.channel).give_back_in(writes, order, reason, now)


def _wechat_closes_from(order):
    """5 minutes after WeChat's order was placed: with the prepay id we keep (never earlier
    than the first), or else with ours."""
    placed = order.prepay_expires_at - payments.PREPAY_LIFE if order.prepay_expires_at \
        else order.created_at
    return placed + WECHAT_CLOSES_AFTER


def _next_wechat_look(order, now):
    """The minute to ask WeChat again about an order it has not closed (its index key)."""
    return pending_minute(max(now + timedelta(minutes=1),
                              _wechat_closes_from(order)).strftime(MINUTE), order.order_id)


def _closed_at_wechat(order, pay, clock):
    """Asks WeChat about the order and closes WeChat's if it may. True once WeChat takes no
    more money for it: closed, never placed, or paid (the payment is recorded, which refunds
    it if ours has closed). False while WeChat may still take a payment. PayFailed if WeChat
    did not answer the question: nothing is known, so nothing changes."""
    from chalicelib.wechat.port import PayFailed

    if not order.prepay_id:
        return True
    trade_state = payments.reconcile(order, pay, clock)
    if trade_state in (*payments.PAID_AT_WECHAT, "CLOSED"):
        return True
    if clock.now() < _wechat_closes_from(order):
        return False
    try:
        pay.close(order.order_id)
    except PayFailed as failure:
        if failure.code == "ORDERCLOSED":  # closed since we asked
            return True
        if failure.code != "ORDERPAID":
            return False  # asked again a minute later
        payments.reconcile(order, pay, clock)
    return True


def close_unpaid(order, reason, pay=None, clock=system_clock):
    """Closes an unpaid order unless WeChat says it was paid; WeChat's order too, or later
    (see the module's docstring). Returns the order as it ends."""
    pay = pay or payments._pay()
    closed_at_wechat = _closed_at_wechat(order, pay, clock)
    order.refresh(consistent_read=True)
    for attempt in retry.attempts(20):
        if attempt:
            order.refresh(consistent_read=True)
        if order.status != PENDING_PAYMENT:
            break  # paid (or closed) meanwhile
        try:
            _release(order, reason, clock.now(),
                     None if closed_at_wechat else _next_wechat_look(order, clock.now()))
            logs.info("order_closed", order_id=order.order_id, reason=reason)
            break
        except TransactWriteError as error:
            if not Cancellation.of(error).lost_race:
                raise
    order.refresh(consistent_read=True)
    return order


def _close_at_wechat(order, pay, clock):
    """An order closed here while WeChat could still take its money: out of the index once
    WeChat takes none, else asked about again a minute later."""
    if _closed_at_wechat(order, pay, clock):
        order.update(actions=[Order.pending_minute.remove()])
    else:
        order.update(actions=[Order.pending_minute.set(_next_wechat_look(order, clock.now()))])


def cancel(member_id, order_id, pay=None, clock=system_clock):
    from chalicelib.wechat.port import PayFailed

    order = get_own(member_id, order_id)
    if order.status != PENDING_PAYMENT:
        raise DomainError("order_not_payable",
                          f"This order is {order.status.lower()}; ask for a refund instead.")
    try:
        return close_unpaid(order, "cancelled", pay, clock)
    except PayFailed:
        raise DomainError("wechat_unavailable", "WeChat Pay did not say whether this order "
                                                "was paid; try again.") from None


def run_minute_job(pay=None, clock=system_clock):
    """Every minute: close the orders whose time to pay ended since the last run (catching up
    a missed run), and ask WeChat about those still in their window that started paying a
    few minutes ago. Returns (closed, recovered)."""
    pay = pay or payments._pay()
    now = clock.now()
    done = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    first = max(minutes.last_minute_covered(JOB, now) + timedelta(minutes=1), done - CATCH_UP)
    closed = recovered = 0
    behind = None  # the first minute with an order left as it was, for the next run
    for minute in minutes.minutes(first, done):
        for order in pending_in(minute):
            if order.status not in (PENDING_PAYMENT, CLOSED):
                continue  # paid: nothing to close
            if order.status == PENDING_PAYMENT and order.pay_by > now:
                continue
            try:
                if order.status == CLOSED:
                    _close_at_wechat(order, pay, clock)
                    continue
                ended = close_unpaid(order, "expired", pay, clock)
            except Exception as error:  # the others still close; this one next run
                _left_as_it_was(order, "close", error)
                behind = behind or minute
                continue
            closed += ended.status == CLOSED
            recovered += ended.status != CLOSED
    minutes.cover(JOB, minutes.minute_before(behind) if behind else done, now)
    window = timedelta(minutes=settings.order_pay_minutes)
    for minute in minutes.minutes(done + timedelta(minutes=1), now + window - RECONCILE_AFTER):
        for order in pending_in(minute):
            if order.status != PENDING_PAYMENT or not order.prepay_id:
                continue
            try:
                recovered += payments.reconcile(order, pay, clock) == "SUCCESS"
            except Exception as error:  # every run asks about these orders again
                _left_as_it_was(order, "reconcile", error)
    logs.info("job_done", job="orders-minute", closed=closed, recovered=recovered)
    return closed, recovered


def _left_as_it_was(order, step, error):
    logs.warning("order_check_failed", order_id=order.order_id, step=step,
                 error=type(error).__name__, code=getattr(error, "code", None))
