"""Refunds through WeChat Pay v2: some units of an order's lines, the whole order, or a payment
that arrived after its order had closed.

A refund is written first, together with the units it claims on the order (one conditional
write: two refunds cannot take back the same unit, and an order has at most 50). Then WeChat
is asked under the refund's own out_refund_no, which every retry reuses. WeChat's answer only
says it accepted the refund; the result comes in the refund notify or from asking (the
refunds job). On success, in one transaction: the refund is done, the stock goes back, the
points the goods were paid with come back, and with the order's last units its coupon (the
order is then REFUNDED). Then
the growth and points the payment earned and the guides' commissions are taken back, each
once per refund, so every path that sees the refund done may run them again. A refund WeChat
gives up on releases its units, so staff can refund them again.
"""
import random
import time
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.checkout.models import Order, PickupCode, Refund
from chalicelib.checkout.orders import COMPLETED, PAID, REFUNDED, SHIPPED
from chalicelib.config import settings
from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import transaction, unchanged
from chalicelib.errors import DomainError

REQUESTED, PROCESSING, SUCCESS, FAILED = "REQUESTED", "PROCESSING", "SUCCESS", "FAILED"
GOODS, LATE_PAYMENT = "goods", "late_payment"
REFUNDABLE = (PAID, SHIPPED, COMPLETED)
MAX_REFUNDS_PER_ORDER = 50  # WeChat's limit
REFUNDABLE_DAYS = 365  # WeChat refunds a payment for a year
FOLLOW_UP_DAYS = 30
# WeChat answers that are about the request's moment, not its content: ask again later.
RETRYABLE = ("UNREACHABLE", "SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED",
             "NOTENOUGH")
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


def _check_refundable(order, now):
    if order.status not in REFUNDABLE:
        raise DomainError("refund_not_allowed", f"This order is {order.status.lower()}.")
    if now - order.paid_at > timedelta(days=REFUNDABLE_DAYS):
        raise DomainError("refund_not_allowed", "WeChat refunds a payment for one year only.")
    if order.refund_count >= MAX_REFUNDS_PER_ORDER:
        raise DomainError("refund_not_allowed",
                          f"An order can be refunded at most {MAX_REFUNDS_PER_ORDER} times.")


def request(order_id, wanted, reason, requested_by, pay=None, clock=system_clock):
    """Refunds units of an order (wanted: {sku_id: units}, or None for all that is left).
    Returns the refund, already accepted by WeChat unless WeChat could not be reached (the
    refunds job asks again)."""
    for attempt in range(20):
        order = Order.get(order_id, consistent_read=True)
        now = clock.now()
        _check_refundable(order, now)
        planned = plan(order, wanted)
        refund = Refund(order_id, f"{order_id}-r{order.refund_count + 1:02d}", kind=GOODS,
                        status=REQUESTED, lines=planned["lines"],
                        refund_fen=planned["refund_fen"],
                        delivery_fee_fen=planned["delivery_fee_fen"], points=planned["points"],
                        completes=int(planned["completes"]), reason=reason,
                        requested_by=requested_by, requested_at=now, open_day=_open_day(now))
        try:
            with transaction() as writes:
                writes.update(order, actions=[
                    Order.refund_count.set(order.refund_count + 1),
                    Order.refunded_quantities.set(planned["after"]),
                    Order.refunded_fen.add(planned["refund_fen"])],
                    condition=unchanged(Order.refund_count, order.refund_count)
                    & Order.status.is_in(*REFUNDABLE))
                writes.save(refund, condition=Refund.refund_id.does_not_exist())
            break
        except TransactWriteError:
            time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # another refund came first
    else:
        raise DomainError("conflict", "The order is being refunded; try again.")
    logs.info("refund_requested", order_id=order_id, refund_id=refund.refund_id,
              refund_fen=refund.refund_fen)
    return send(refund, order.total_fen, pay, clock)


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
    from chalicelib.wechat.wechatpy_adapter import PayFailed

    pay = pay or _pay()
    try:
        pay.refund(refund.order_id, refund.refund_id, total_fen, refund.refund_fen,
                   refund_notify_url())
    except PayFailed as failure:
        if failure.code in RETRYABLE:
            return refund
        logs.warning("refund_refused", order_id=refund.order_id, refund_id=refund.refund_id,
                   errcode=failure.code, error=str(failure))
        return apply_result(refund, failure.code, clock)
    try:
        refund.update(actions=[Refund.status.set(PROCESSING)],
                      condition=Refund.status == REQUESTED)
    except UpdateError as error:
        if not _condition_failed(error):
            raise
        refund.refresh(consistent_read=True)  # its result came first
    return refund


def _restore(order, refund, now):
    """One transaction: the refund is done; stock, the points used, and with the last units the
    coupon come back."""
    from chalicelib.catalog import stock
    from chalicelib.checkout import coupons
    from chalicelib.members import points
    from chalicelib.members.models import Member

    member = Member.get(order.member_id, consistent_read=True) if refund.points else None
    with transaction() as writes:
        writes.update(refund, actions=[Refund.status.set(SUCCESS), Refund.settled_at.set(now),
                                       Refund.wechat_status.set(SUCCESS),
                                       Refund.open_day.remove()],
                      condition=Refund.status.is_in(REQUESTED, PROCESSING))
        if refund.kind != GOODS:
            return
        for line in refund.lines:
            stock.put_back_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                              f"refund {refund.refund_id}", refund.requested_by, now)
        if refund.completes:
            writes.update(order, actions=[Order.status.set(REFUNDED)],
                          condition=Order.status.is_in(*REFUNDABLE))
            if order.pickup_code:
                writes.delete(PickupCode(f"{order.store_id}#{order.pickup_code}"))
        if refund.completes and order.member_coupon_id:
            coupons.give_back_in(writes, order.member_id, order.member_coupon_id,
                                 order.order_id)
        if member is not None:
            points.change_in(writes, member, refund.points, "return", refund.refund_id, now,
                             note=f"refund of order {order.order_id}")


def _release_units(order, refund, now, wechat_status):
    """One transaction: WeChat gave the refund up; its units can be refunded again."""
    left = dict(order.refunded_quantities or {})
    for line in refund.lines:
        left[line["sku_id"]] -= line["quantity"]
    with transaction() as writes:
        writes.update(refund, actions=[Refund.status.set(FAILED), Refund.settled_at.set(now),
                                       Refund.wechat_status.set(wechat_status),
                                       Refund.open_day.remove()],
                      condition=Refund.status.is_in(REQUESTED, PROCESSING))
        if refund.kind == GOODS:
            writes.update(order, actions=[Order.refunded_quantities.set(left),
                                          Order.refunded_fen.add(-refund.refund_fen)],
                          condition=unchanged(Order.refund_count, order.refund_count))


def _after_refund(order, refund, clock):
    """Growth, earned points and commissions taken back, each once per refund."""
    from chalicelib.checkout.payments import goods_paid_fen
    from chalicelib.guides import attribution
    from chalicelib.members import loyalty

    goods_fen = refund.refund_fen - refund.delivery_fee_fen
    loyalty.on_order_refunded(order.member_id, order.order_id, refund.refund_id, goods_fen,
                              goods_paid_fen(order), order.points_earned or 0, clock)
    for earner in order.commissions or ():
        attribution.record_refund(earner["guide_id"], order.order_id, order.paid_at,
                                  refund.refund_id, goods_fen)


def apply_result(refund, wechat_status, clock=system_clock):
    """WeChat's result for a refund (SUCCESS, or CHANGE / REFUNDCLOSE / the code it refused
    with), applied once. Returns the refund as it ends."""
    if wechat_status == PROCESSING:
        return refund
    succeeded = wechat_status == SUCCESS
    for attempt in range(20):
        order = Order.get(refund.order_id, consistent_read=True)
        refund.refresh(consistent_read=True)
        if refund.status in (SUCCESS, FAILED):
            break
        try:
            if succeeded:
                _restore(order, refund, clock.now())
                logs.info("refund_done", order_id=order.order_id, refund_id=refund.refund_id,
                          refund_fen=refund.refund_fen)
            else:
                _release_units(order, refund, clock.now(), wechat_status)
                logs.warning("refund_failed", order_id=order.order_id,
                           refund_id=refund.refund_id, wechat_status=wechat_status)
            break
        except TransactWriteError:
            time.sleep(random.uniform(0, 0.004 * (attempt + 1)))
    refund.refresh(consistent_read=True)
    if refund.status == SUCCESS and refund.kind == GOODS:
        _after_refund(Order.get(refund.order_id, consistent_read=True), refund, clock)
    if refund.status == SUCCESS:
        from chalicelib.notify import hooks

        hooks.refund_done(refund, clock)  # queued once per refund; never raises
    return refund


def on_notify(xml, pay=None, clock=system_clock):
    """WeChat's refund result notify: decrypted with the merchant key, matched to our refund
    and its amount, applied once. Returns the XML answer."""
    from chalicelib.checkout.payments import SUCCESS_ANSWER, fail_answer
    from chalicelib.wechat.port import InvalidNotify

    pay = pay or _pay()
    try:
        result = pay.decrypted_refund_notify(xml)
    except InvalidNotify as exc:
        logs.warning("refund_notify_rejected", reason="decryption", detail=str(exc))
        return fail_answer("decryption")
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
    stand. Reads only open refunds (a sparse index by day). Returns how many settled."""
    from chalicelib.wechat.wechatpy_adapter import PayFailed

    pay = pay or _pay()
    now = clock.now()
    settled = 0
    for days_ago in range(FOLLOW_UP_DAYS):
        for refund in Refund.open_refunds.query(_open_day(now - timedelta(days=days_ago))):
            order = Order.get(refund.order_id)
            if refund.status == REQUESTED:
                refund = send(refund, order.total_fen, pay, clock)
            if refund.status == PROCESSING:
                try:
                    refund = apply_result(refund, pay.refund_status(refund.refund_id), clock)
                except PayFailed:
                    continue
            settled += refund.status in (SUCCESS, FAILED)
    logs.info("job_done", job="refunds", settled=settled)
    return settled


def refund_view(refund):
    return {"refund_id": refund.refund_id, "order_id": refund.order_id, "kind": refund.kind,
            "status": refund.status, "lines": refund.lines, "refund_fen": refund.refund_fen,
            "delivery_fee_fen": refund.delivery_fee_fen, "points": refund.points,
            "reason": refund.reason, "requested_at": refund.requested_at.isoformat(),
            "settled_at": refund.settled_at.isoformat() if refund.settled_at else None}


def of_order(order_id):
    return [refund_view(refund) for refund in Refund.query(order_id)]
