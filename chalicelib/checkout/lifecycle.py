"""Unpaid orders: closing them (expired, or cancelled by the shopper) gives back everything
they held, and the minute job finds them through the sparse pending-by-minute index, so it
reads only the orders it acts on.

Closing and paying race on one condition (the order is still PENDING_PAYMENT): exactly one
wins. Before closing we ask WeChat, and a payment that still lands on a closed order is
refunded (see payments.record_payment).
"""
import random
import time
from datetime import timedelta
from importlib import import_module

from pynamodb.exceptions import TransactWriteError

from chalicelib.checkout import coupons, holds, payments
from chalicelib.checkout.models import Order
from chalicelib.checkout.orders import CLOSED, PENDING_PAYMENT, get_own
from chalicelib.config import settings
from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.jobs import minutes

# Where an unpaid order of a promotion gives back what it held (its give_back_in).
_PROMOTIONS = {"flash_sale": "chalicelib.flash.buying", "group_buy": "chalicelib.groups.joining",
               "live": "chalicelib.live.buying"}
CATCH_UP = timedelta(hours=24)
RECONCILE_AFTER = timedelta(minutes=3)
JOB = "job:orders-minute"


def _release(order, reason, now):
    """One transaction: the order closes, and its stock, coupon, points and holds come
    back."""
    from chalicelib.catalog import stock
    from chalicelib.members import points
    from chalicelib.members.services import get_member

    member = get_member(order.member_id) if order.points_used else None
    with transaction() as writes:
        writes.update(order, actions=[Order.status.set(CLOSED), Order.closed_at.set(now),
                                      Order.close_reason.set(reason),
                                      Order.pending_minute.remove()],
                      condition=Order.status == PENDING_PAYMENT)
        promotion = _PROMOTIONS.get(order.channel)
        if promotion:
            import_module(promotion).give_back_in(writes, order, now)
        else:
            for line in order.breakdown["lines"]:
                stock.put_back_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                                  f"order {order.order_id} {reason}", order.member_id, now)
        if order.member_coupon_id:
            coupons.give_back_in(writes, order.member_id, order.member_coupon_id,
                                 order.order_id)
        if member is not None:
            points.change_in(writes, member, order.points_used, "release", order.order_id, now,
                             note=f"order {order.order_id} {reason}")
        holds.release_in(writes, order)


def close_unpaid(order, reason, pay=None, clock=system_clock):
    """Closes an unpaid order unless WeChat says it was paid. Returns the order as it ends."""
    from chalicelib.wechat.wechatpy_adapter import PayFailed

    pay = pay or payments._pay()
    if order.prepay_id:
        if payments.reconcile(order, pay, clock) in ("SUCCESS", "REFUND"):
            order.refresh(consistent_read=True)
            return order
        try:
            pay.close(order.order_id)
        except PayFailed as failure:
            if failure.code == "ORDERPAID":
                payments.reconcile(order, pay, clock)
                order.refresh(consistent_read=True)
                return order
            # Otherwise close ours anyway: a payment that still lands is refunded.
    for attempt in range(20):
        try:
            _release(order, reason, clock.now())
            logs.info("order_closed", order_id=order.order_id, reason=reason)
            break
        except TransactWriteError as error:
            order.refresh(consistent_read=True)
            if order.status != PENDING_PAYMENT:
                break  # paid (or closed) meanwhile
            if not {"ConditionalCheckFailed", "TransactionConflict"} & set(
                    cancellation_codes(error)):
                raise
        time.sleep(random.uniform(0, 0.004 * (attempt + 1)))
    order.refresh(consistent_read=True)
    return order


def cancel(member_id, order_id, pay=None, clock=system_clock):
    order = get_own(member_id, order_id)
    if order.status != PENDING_PAYMENT:
        raise DomainError("order_not_payable",
                          f"This order is {order.status.lower()}; ask for a refund instead.")
    return close_unpaid(order, "cancelled", pay, clock)


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
        for order in Order.pending_by_minute.query(minute):
            if order.pay_by <= now:
                try:
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
        for order in Order.pending_by_minute.query(minute):
            if not order.prepay_id:
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
