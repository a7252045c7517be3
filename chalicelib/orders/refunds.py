"""Refunds through WeChat Pay v2: some units of an order's lines, the whole order, or a payment
that arrived after its order had closed.

A refund is written first, together with the units it claims on the order (one conditional
write: two refunds cannot take back the same unit, and an order has at most 50), once the
order has no refund in flight (each is planned on the refunds settled before it). The same
write counts the refund in flight on the order and requires the order's status as read, so a
refund and a handover (redeem, ship: conditioned on no refund in flight) exclude each other.
The shopper's own refund claims only a PAID order; staff may refund goods already handed over,
and those go back to stock only when staff confirm they came back. Then WeChat is asked under
the refund's own out_refund_no, which every retry reuses. WeChat's answer only says it
accepted the refund; the result comes in the refund notify or from asking (the refunds job,
which asks about every open refund until it settles). On success, in one transaction: the
refund is done, the stock goes back (unless it awaits the goods), the points the goods were
paid with come back, with the order's last units its coupon (the order is then REFUNDED), and
an order_refunded event (orders/events.py), whose subscribers take back the growth, the
earned points and the guides' commissions, and tell the shopper (until they have). A refund
WeChat gives up on releases its units, so staff can refund them again; one whose money is
stuck (CHANGE) keeps them until staff record it settled by hand or released.
"""
import functools
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.orders import channels
from chalicelib.orders.events import ORDER_REFUNDED
from chalicelib.orders.models import Order, PickupCode, Refund
from chalicelib.orders.placing import COMPLETED, PAID, REFUNDED, SHIPPED
from chalicelib.config import settings
from chalicelib.core import logs, retry
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import Cancellation, transaction, unchanged
from chalicelib.errors import DomainError
from chalicelib.wechat.port import SUCCESS_ANSWER, fail_answer

REQUESTED, PROCESSING, SUCCESS, FAILED = "REQUESTED", "PROCESSING", "SUCCESS", "FAILED"
CHANGE = "CHANGE"  # WeChat could not pay it out; re-sent by hand on the merchant platform
OPEN = (REQUESTED, PROCESSING)  # WeChat has not finished it: the refunds job asks
IN_FLIGHT = (*OPEN, CHANGE)  # its units are claimed and may still go either way
GOODS, LATE_PAYMENT = "goods", "late_payment"
REFUNDABLE = (PAID, SHIPPED, COMPLETED)
HANDED_OVER = (SHIPPED, COMPLETED)
AWAITED, RETURNED = "awaited", "returned"
MAX_REFUNDS_PER_ORDER = 50  # WeChat's limit
REFUNDABLE_DAYS = 365  # WeChat refunds a payment for a year
OVERDUE_DAYS = 7  # a bank-card refund takes up to 3 working days; after a week, say so
JOB = "refunds"  # its cursor (db/cursors.py)
# WeChat answers that are about the request's moment, not its content: ask again later.
RETRYABLE = ("UNREACHABLE", "SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED",
             "INVALID_REQ_TOO_MUCH")
FUNDS_SHORT = "NOTENOUGH"  # the funds the refund draws on fall short: wait, or top up
# WeChat's answers that it will never make this refund (its documented meanings): the refund
# fails and its units are free again. Any other answer, one with no code (a non-200, a
# request refused whole) included, leaves the refund open: asked again, ops told.
REFUSED = ("ORDERNOTEXIST", "TRADE_OVERDUE", "REFUND_FEE_INVALID", "USER_ACCOUNT_ABNORMAL",
           "ERROR")
NOTIFY_PATH = "/wechat/pay/refund-notify"


def refund_notify_url():
    return settings.public_api_url + NOTIFY_PATH


def _pay():
    from chalicelib import wechat

    return wechat.pay()


def _condition_failed(error):
    return error.cause_response_code == "ConditionalCheckFailedException"


def _open_day(now):
    return now.strftime("%Y-%m-%d")


def _upto(amount, units, quantity):
    """The part of a line's amount that its first `units` units carry (rounded down, so the
    parts of successive refunds add up to exactly the whole)."""
    return amount * units // quantity


def plan(order, wanted=None):
    """What a refund of `wanted` ({sku_id: units}; None: everything not yet refunded) gives
    back: its lines, amount in fen, points, and whether it refunds the order's last units."""
    lines = order.breakdown["lines"]
    before = dict(order.refunded_quantities or {})
    if wanted is None:
        wanted = {line["sku_id"]: line["quantity"] - before.get(line["sku_id"], 0)
                  for line in lines}
        wanted = {sku_id: units for sku_id, units in wanted.items() if units}
    by_sku = {line["sku_id"]: line for line in lines}
    for sku_id, units in wanted.items():
        if sku_id not in by_sku:
            raise DomainError("validation_error", f"This order has no SKU {sku_id}.")
        left = by_sku[sku_id]["quantity"] - before.get(sku_id, 0)
        if not 0 < units <= left:
            raise DomainError("nothing_to_refund",
                              f"{left} unit(s) of {by_sku[sku_id]['name']} can be refunded.")
    if not wanted:
        raise DomainError("nothing_to_refund", "Everything in this order was refunded.")
    after = {**before, **{sku_id: before.get(sku_id, 0) + units
                          for sku_id, units in wanted.items()}}
    refund_lines, points_fen_before, points_fen_after = [], 0, 0
    for line in lines:
        done, now_done = before.get(line["sku_id"], 0), after.get(line["sku_id"], 0)
        points_fen_before += _upto(line["points_fen"], done, line["quantity"])
        points_fen_after += _upto(line["points_fen"], now_done, line["quantity"])
        if now_done > done:
            refund_lines.append({
                "sku_id": line["sku_id"], "quantity": now_done - done,
                "refund_fen": _upto(line["payable_fen"], now_done, line["quantity"])
                - _upto(line["payable_fen"], done, line["quantity"])})
    completes = all(after.get(line["sku_id"], 0) == line["quantity"] for line in lines)
    delivery_fee = order.breakdown["delivery_fee_fen"] \
        if completes and order.shipped_at is None else 0
    points, points_fen = order.breakdown["points"], order.breakdown["points_fen"]
    returned_points = (_upto(points, points_fen_after, points_fen)
                       - _upto(points, points_fen_before, points_fen)) if points_fen else 0
    return {"lines": refund_lines, "after": after, "completes": completes,
            "delivery_fee_fen": delivery_fee, "points": returned_points,
            "refund_fen": sum(line["refund_fen"] for line in refund_lines) + delivery_fee}


def _check_refundable(order, now, statuses=REFUNDABLE):
    if order.status not in statuses:
        if order.status in REFUNDABLE:
            raise DomainError("refund_not_allowed", "Once an order is shipped or picked up, "
                                                    "the store refunds it.")
        raise DomainError("refund_not_allowed", f"This order is {order.status.lower()}.")
    if now - order.paid_at > timedelta(days=REFUNDABLE_DAYS):
        raise DomainError("refund_not_allowed", "WeChat refunds a payment for one year only.")
    if order.refund_count >= MAX_REFUNDS_PER_ORDER:
        raise DomainError("refund_not_allowed",
                          f"An order can be refunded at most {MAX_REFUNDS_PER_ORDER} times.")
    if order.refunds_in_flight:
        # Each refund is planned on the units refunded before it (its amounts, the delivery
        # fee, whether it is the last): those must have settled. The claim's condition on
        # refund_count keeps a refund asked for meanwhile out.
        raise DomainError("refund_in_progress", "A refund of this order is in progress: "
                                                "refund more once it has settled.")


def _race_lost(error):
    return Cancellation.of(error).lost_race


def request(order_id, wanted, reason, requested_by, pay=None, clock=system_clock, *,
            before_handover=False):
    """Refunds units of an order (wanted: {sku_id: units}, or None for all that is left);
    before_handover: only while the order is PAID (the shopper's own refund). Goods already
    handed over are awaited back before they are stock again. Returns the refund, already
    accepted by WeChat unless WeChat could not be reached (the refunds job asks again)."""
    statuses = (PAID,) if before_handover else REFUNDABLE
    for _ in retry.attempts(20):  # another refund or a handover came first: read again
        order = Order.get(order_id, consistent_read=True)
        now = clock.now()
        _check_refundable(order, now, statuses)
        planned = plan(order, wanted)
        refund = Refund(order_id, f"{order_id}-r{order.refund_count + 1:02d}", kind=GOODS,
                        status=REQUESTED, lines=planned["lines"],
                        refund_fen=planned["refund_fen"],
                        delivery_fee_fen=planned["delivery_fee_fen"], points=planned["points"],
                        completes=int(planned["completes"]), reason=reason,
                        requested_by=requested_by, requested_at=now, open_day=_open_day(now),
                        goods_return=AWAITED if order.status in HANDED_OVER else None,
                        in_flight_counted=True)
        try:
            with transaction() as writes:
                # The status as read: a handover between the read and this write fails it.
                writes.update(order, name="order", actions=[
                    Order.refund_count.set(order.refund_count + 1),
                    Order.refunded_quantities.set(planned["after"]),
                    Order.refunded_fen.add(planned["refund_fen"]),
                    Order.refunds_in_flight.add(1)],
                    condition=unchanged(Order.refund_count, order.refund_count)
                    & (Order.status == order.status))
                writes.save(refund, name="refund", condition=Refund.refund_id.does_not_exist())
            break
        except TransactWriteError as error:
            if not _race_lost(error):
                raise
    else:
        raise DomainError("conflict", "The order is being refunded; try again.")
    logs.info("refund_requested", order_id=order_id, refund_id=refund.refund_id,
              refund_fen=refund.refund_fen)
    return send(refund, order.total_fen, pay, clock)


def by_shopper(order, reason, pay=None, clock=system_clock):
    """The shopper refunds their whole order while its goods have not been handed over."""
    _check_refundable(order, clock.now(), (PAID,))
    channels.of(order.channel).before_refund(order)  # a group's seat is free again
    return request(order.order_id, None, reason, order.member_id, pay, clock,
                   before_handover=True)


def refund_late_payment(order, pay=None, clock=system_clock):
    """Money that arrived for an order already closed (expired or cancelled) goes back in
    full, under one refund per order however often the payment is reported."""
    now = clock.now()
    refund = Refund(order.order_id, f"{order.order_id}-late", kind=LATE_PAYMENT,
                    status=REQUESTED, refund_fen=order.total_fen, requested_by="system",
                    reason="paid after the order closed", requested_at=now,
                    open_day=_open_day(now))
    try:
        refund.save(condition=Refund.refund_id.does_not_exist())
        logs.warning("late_payment_refunded", order_id=order.order_id,
                     total_fen=order.total_fen)
    except PutError as error:
        if not _condition_failed(error):
            raise
        refund = Refund.get(order.order_id, refund.refund_id, consistent_read=True)
    if refund.status == REQUESTED:
        send(refund, order.total_fen, pay, clock)
    return refund


def send(refund, total_fen, pay=None, clock=system_clock):
    """Asks WeChat for the refund (again: the same out_refund_no is the same refund)."""
    from chalicelib.wechat.port import PayFailed

    pay = pay or _pay()
    try:
        _ask_wechat(pay, refund, total_fen)
    except PayFailed as failure:
        if failure.code in REFUSED:
            logs.warning("refund_refused", order_id=refund.order_id,
                         refund_id=refund.refund_id, errcode=failure.code, error=str(failure))
            return apply_result(refund, failure.code, clock)
        if failure.code not in RETRYABLE:  # ops: funds to top up, or something to set right
            logs.warning("refund_funds_short" if failure.code == FUNDS_SHORT
                         else "refund_not_accepted", order_id=refund.order_id,
                         refund_id=refund.refund_id, refund_fen=refund.refund_fen,
                         errcode=failure.code, error=str(failure))
        return refund
    try:
        refund.update(actions=[Refund.status.set(PROCESSING)],
                      condition=Refund.status == REQUESTED)
    except UpdateError as error:
        if not _condition_failed(error):
            raise
        refund.refresh(consistent_read=True)  # its result came first
    return refund


def _ask_wechat(pay, refund, total_fen):
    """The refund from the unsettled payments, as WeChat pays by default; if those fall short
    and the brand allows it, from its available balance."""
    from chalicelib.wechat.port import PayFailed

    ask = functools.partial(pay.refund, refund.order_id, refund.refund_id, total_fen,
                            refund.refund_fen, refund_notify_url())
    try:
        ask()
    except PayFailed as failure:
        if failure.code != FUNDS_SHORT or not settings.refund_from_available_funds:
            raise
        ask(from_available_funds=True)


def goods_fen(refund):
    """What a refund gives back for goods (its delivery fee aside): what the refund takes back
    of the points, growth and commissions they earned."""
    return refund.refund_fen - refund.delivery_fee_fen


def _landed(refund):
    """The order's actions when a refund stops being in flight (refunds claimed before the
    order counted them were never counted)."""
    return [Order.refunds_in_flight.add(-1)] if refund.in_flight_counted else []


def _settle(order, refund, now, from_statuses, also=()):
    """One transaction: the refund is done; the order's channel gives back the stock (unless
    the goods are awaited back), the points used and with the last units the coupon; its
    order_refunded event. also: more of the refund's actions."""
    from chalicelib.db import events

    goods = refund.kind == GOODS
    with transaction() as writes:
        writes.update(refund, actions=[
            Refund.status.set(SUCCESS), Refund.settled_at.set(now), Refund.open_day.remove(),
            *([Refund.refunded_goods_before.set(order.refunded_goods_fen or 0)] if goods else []),
            *also], condition=Refund.status.is_in(*from_statuses), name="refund")
        events.add_in(writes, ORDER_REFUNDED, now, order_id=order.order_id,
                      refund_id=refund.refund_id)
        if not goods:
            return
        actions = [Order.refunded_goods_fen.add(goods_fen(refund)), *_landed(refund),
                   Order.refunds_settled.add(1), Order.refund_settled_fen.add(refund.refund_fen),
                   Order.refund_settled_at.set(now)]
        condition = unchanged(Order.refunded_goods_fen, order.refunded_goods_fen)
        if refund.completes:
            actions.append(Order.status.set(REFUNDED))
            condition &= Order.status.is_in(*REFUNDABLE)
        writes.update(order, actions=actions, condition=condition, name="order")
        if refund.completes and order.pickup_code:
            writes.delete(PickupCode(f"{order.store_id}#{order.pickup_code}"),
                          name="pickup_code")
        channels.of(order.channel).return_in(writes, order, refund, now)


def _release(order, refund, now, from_statuses, also=()):
    """One transaction: the refund did not go through; its units can be refunded again."""
    left = dict(order.refunded_quantities or {})
    for line in refund.lines:
        left[line["sku_id"]] -= line["quantity"]
    with transaction() as writes:
        writes.update(refund, actions=[Refund.status.set(FAILED), Refund.settled_at.set(now),
                                       Refund.open_day.remove(), *also],
                      condition=Refund.status.is_in(*from_statuses), name="refund")
        if refund.kind == GOODS:
            writes.update(order, actions=[Order.refunded_quantities.set(left),
                                          Order.refunded_fen.add(-refund.refund_fen),
                                          *_landed(refund)],
                          condition=unchanged(Order.refund_count, order.refund_count),
                          name="order")


def _stuck(refund):
    """WeChat could not pay the money out (CHANGE): the refund keeps its units, leaves the
    refunds job (WeChat will not change it) and waits for staff."""
    try:
        refund.update(actions=[Refund.status.set(CHANGE), Refund.wechat_status.set(CHANGE),
                               Refund.open_day.remove()],
                      condition=Refund.status.is_in(*OPEN))
    except UpdateError as error:
        if not _condition_failed(error):
            raise


def _deliver_settled(refund, clock):
    """Runs what the settled refund sets off and has not run yet (its order_refunded event's
    subscribers). Never raises: what fails is tried again."""
    from chalicelib.db import events

    events.deliver(ORDER_REFUNDED, clock, order_id=refund.order_id, refund_id=refund.refund_id)


def apply_result(refund, wechat_status, clock=system_clock):
    """WeChat's result for a refund (SUCCESS, CHANGE, or REFUNDCLOSE / the code it refused
    with), applied once. Returns the refund as it ends."""
    if wechat_status == PROCESSING:
        return refund
    for _ in retry.attempts(20):  # the order changed meanwhile: read both again
        order = Order.get(refund.order_id, consistent_read=True)
        refund.refresh(consistent_read=True)
        if refund.status not in OPEN:
            break
        now = clock.now()
        try:
            if wechat_status == SUCCESS:
                _settle(order, refund, now, OPEN, [Refund.wechat_status.set(SUCCESS)])
                logs.info("refund_done", order_id=order.order_id, refund_id=refund.refund_id,
                          refund_fen=refund.refund_fen)
            elif wechat_status == CHANGE:
                _stuck(refund)
                logs.warning("refund_stuck", order_id=order.order_id,
                             refund_id=refund.refund_id, refund_fen=refund.refund_fen)
            else:
                _release(order, refund, now, OPEN, [Refund.wechat_status.set(wechat_status)])
                logs.warning("refund_failed", order_id=order.order_id,
                             refund_id=refund.refund_id, wechat_status=wechat_status)
            break
        except TransactWriteError as error:
            if not _race_lost(error):
                raise
    refund.refresh(consistent_read=True)
    if refund.status == SUCCESS:
        _deliver_settled(refund, clock)  # what the refund sets off, if not all done yet
    return refund


def on_notify(xml, pay=None, clock=system_clock):
    """WeChat's refund result notify: decrypted with the merchant key, matched to our refund
    and its amount, applied once. Returns the XML answer."""
    from chalicelib.wechat.port import InvalidNotify

    pay = pay or _pay()
    try:
        result = pay.decrypted_refund_notify(xml)
    except InvalidNotify as exc:
        logs.warning("refund_notify_rejected", reason=exc.reason, detail=str(exc))
        return fail_answer(exc.reason)
    try:
        refund = Refund.get(result.get("out_trade_no", ""), result.get("out_refund_no", ""),
                            consistent_read=True)
    except DoesNotExist:
        logs.warning("refund_notify_rejected", reason="unknown_refund",
                     out_refund_no=result.get("out_refund_no"))
        return fail_answer("unknown refund")
    if str(result.get("refund_fee")) != str(refund.refund_fen):
        logs.warning("refund_notify_rejected", reason="amount", refund_id=refund.refund_id)
        return fail_answer("amount")
    apply_result(refund, result.get("refund_status", ""), clock)
    return SUCCESS_ANSWER


def follow_up(pay=None, clock=system_clock):
    """The refunds job: asks WeChat again for refunds it never accepted, and how accepted ones
    stand, until each has settled. It reads the days of the open-refunds index since its last
    run: each check moves a refund still open to today, so none falls behind however long
    it stays open. Returns how many settled."""
    from chalicelib.db import cursors

    pay = pay or _pay()
    now = clock.now()
    today = now.date()
    last = cursors.last_day(JOB)
    first = min(last, today) if last else today - timedelta(days=REFUNDABLE_DAYS)
    settled, behind, seen = 0, None, set()
    for day in cursors.days(first, today):
        for refund in Refund.open_refunds.query(day.isoformat()):
            if refund.refund_id in seen:
                continue  # moved to today in this run
            seen.add(refund.refund_id)
            try:
                settled += _check(refund, pay, clock).status not in OPEN
            except Exception as error:  # the others are still asked about; this one next run
                logs.warning("refund_check_failed", order_id=refund.order_id,
                             refund_id=refund.refund_id, error=type(error).__name__)
                behind = behind or day
    cursors.cover_day(JOB, behind or today, now)
    logs.info("job_done", job="refunds", settled=settled)
    return settled


def _check(refund, pay, clock):
    from chalicelib.wechat.port import PayFailed

    if refund.status == REQUESTED:
        refund = send(refund, Order.get(refund.order_id).total_fen, pay, clock)
    if refund.status == PROCESSING:
        try:
            refund = apply_result(refund, pay.refund_status(refund.refund_id), clock)
        except PayFailed:
            pass  # asked again next run
    if refund.status in OPEN:
        _keep_open(refund, clock.now())
    return refund


def _keep_open(refund, now):
    """Moves a refund still open to today's day of the index (once a day), saying so once it
    has been open for more than OVERDUE_DAYS."""
    today = _open_day(now)
    if refund.open_day == today:
        return
    try:
        refund.update(actions=[Refund.open_day.set(today)],
                      condition=Refund.status.is_in(*OPEN) & Refund.open_day.exists())
    except UpdateError as error:
        if not _condition_failed(error):
            raise
        return  # settled meanwhile
    days_open = (now - refund.requested_at).days
    if days_open >= OVERDUE_DAYS:
        logs.warning("refund_overdue", order_id=refund.order_id, refund_id=refund.refund_id,
                     status=refund.status, days_open=days_open)


def _refund_of(order, refund_id):
    try:
        return Refund.get(order.order_id, refund_id, consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", f"This order has no refund {refund_id}.") from None


def resolve(order, refund_id, outcome, staff_id, clock=system_clock):
    """Staff resolve a refund whose money WeChat could not pay out (CHANGE), once: "settled"
    (re-sent by hand on the merchant platform: everything a success does) or "released" (its
    units can be refunded again)."""
    refund = _refund_of(order, refund_id)
    if refund.status != CHANGE:
        raise DomainError("conflict", f"This refund is {refund.status.lower()}: there is "
                                      f"nothing to resolve.")
    now = clock.now()
    try:
        if outcome == "settled":
            _settle(order, refund, now, (CHANGE,), [Refund.resolved_by.set(staff_id)])
        else:
            _release(order, refund, now, (CHANGE,), [Refund.resolved_by.set(staff_id)])
    except TransactWriteError as error:
        if not _race_lost(error):
            raise
        raise DomainError("conflict", "The refund or its order changed meanwhile; look "
                                      "again.") from None
    logs.info("refund_resolved", order_id=order.order_id, refund_id=refund_id,
              outcome=outcome, by=staff_id)
    refund.refresh(consistent_read=True)
    if refund.status == SUCCESS:
        _deliver_settled(refund, clock)
    return refund


def confirm_return(order, refund_id, staff_id, clock=system_clock):
    """Staff confirm that the goods of a refund came back: they are stock again, once. Only
    after the refund has succeeded, so goods whose refund may still fail (and be asked for
    again) never count twice."""
    refund = _refund_of(order, refund_id)
    if refund.goods_return != AWAITED:
        raise DomainError("conflict", "These goods were confirmed back already."
                          if refund.goods_return == RETURNED
                          else "The goods of this refund never left the store.")
    if refund.status in IN_FLIGHT:
        raise DomainError("refund_in_progress", "Confirm the goods back once the refund has "
                                                "gone through.")
    if refund.status != SUCCESS:
        raise DomainError("conflict", "This refund did not go through: refund the goods "
                                      "again, then confirm them back.")
    now = clock.now()
    try:
        with transaction() as writes:
            writes.update(refund, actions=[Refund.goods_return.set(RETURNED),
                                           Refund.returned_at.set(now),
                                           Refund.returned_by.set(staff_id)],
                          condition=(Refund.goods_return == AWAITED) & (Refund.status == SUCCESS),
                          name="refund")
            channels.of(order.channel).restock_in(writes, order, refund, staff_id,
                                                  f"return of refund {refund_id}", now)
    except TransactWriteError as error:
        if not Cancellation.of(error).failed("refund"):
            raise
        raise DomainError("conflict", "These goods were confirmed back already.") from None
    logs.info("refund_goods_returned", order_id=order.order_id, refund_id=refund_id,
              by=staff_id)
    refund.refresh(consistent_read=True)
    return refund


def refund_view(refund):
    return {"refund_id": refund.refund_id, "order_id": refund.order_id, "kind": refund.kind,
            "status": refund.status, "lines": refund.lines, "refund_fen": refund.refund_fen,
            "delivery_fee_fen": refund.delivery_fee_fen, "points": refund.points,
            "reason": refund.reason, "requested_at": refund.requested_at.isoformat(),
            "settled_at": refund.settled_at.isoformat() if refund.settled_at else None,
            "goods_return": refund.goods_return}


def of_order(order_id):
    return [refund_view(refund) for refund in Refund.query(order_id)]
