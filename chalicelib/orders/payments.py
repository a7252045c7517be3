"""Paying orders with WeChat Pay v2: starting a payment, the payment notify, and what a
payment sets off.

An order moves PENDING_PAYMENT → PAID in one conditional update, whoever gets there first:
the notify, a repeat of it, or reconciliation asking WeChat. That change is the order_paid
event: the orders table's stream delivers it (orders/events.py) to its subscribers (points,
growth, the guides' commissions, the group, the live room's figures, reactivation results,
the message: each in its domain, listed in chalicelib/wiring.py), each run once per order,
and whatever failed runs again when the stream delivers the batch again. Money paid for an
order that had already closed is refunded.

WeChat's order for ours is placed once, on the first tap on "pay", payable until our pay
deadline (or 6 minutes after that tap, if later: WeChat refuses a time_expire less than 5
minutes ahead); each later tap hands out the same prepay id while it lives (2 hours), and
asks WeChat for a new one after that with exactly the same parameters (WeChat answers any
change, time_start and time_expire included, with 201 商户订单号重复).
"""
from datetime import timedelta

from chalicelib.orders.models import Order
from chalicelib.orders.placing import CLOSED, PAID, PENDING_PAYMENT, get_own
from chalicelib.config import settings
from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.wechat.port import SUCCESS_ANSWER, fail_answer

NOTIFY_PATH = "/wechat/pay/notify"
PREPAY_LIFE = timedelta(hours=2)  # WeChat's, for a prepay id
SHORTEST_EXPIRY = timedelta(minutes=6)  # WeChat's 5 minutes, and one for clocks and the trip
PAID_AT_WECHAT = ("SUCCESS", "REFUND")  # trade_state of an order paid (then maybe refunded)


def notify_url():
    return settings.public_api_url + NOTIFY_PATH


def _pay():
    from chalicelib import wechat

    return wechat.pay()


def start(member_id, order_id, pay=None, clock=system_clock):
    """WeChat's prepay order for the member's order, and the signed parameters for
    wx.requestPayment."""
    pay = pay or _pay()
    order = get_own(member_id, order_id)
    now = clock.now()
    if order.status != PENDING_PAYMENT:
        raise DomainError("order_not_payable", f"This order is {order.status.lower()}.")
    if now >= order.pay_by or not order.openid:
        raise DomainError("order_not_payable", "The time to pay this order has passed.")
    if order.prepay_expires_at and now < order.prepay_expires_at:
        prepay_id = order.prepay_id
    else:
        prepay_id = _prepay(order, pay, clock)
    return {"order_id": order.order_id, "total_fen": order.total_fen,
            "request_payment": pay.jsapi_params(prepay_id)}


def _prepay(order, pay, clock):
    """A prepay id for the order from WeChat, kept on the order with its expiry."""
    from chalicelib.wechat.port import PayFailed

    expires_at = order.wechat_expires_at or max(order.pay_by, clock.now() + SHORTEST_EXPIRY)
    try:
        prepay_id = pay.unified_order(order.order_id, order.total_fen, order.openid,
                                      f"{settings.brand_name} 订单 {order.order_id}"[:128],
                                      notify_url(), order.created_at, expires_at)
    except PayFailed as failure:
        if failure.code == "ORDERPAID":
            reconcile(order, pay, clock)
            raise DomainError("order_not_payable", "This order is paid already.") from None
        raise DomainError("wechat_unavailable", "WeChat Pay did not take the order; try "
                                                "again.") from None
    order.update(actions=[Order.prepay_id.set(prepay_id),
                          Order.prepay_expires_at.set(clock.now() + PREPAY_LIFE),
                          Order.wechat_expires_at.set(expires_at)])
    return prepay_id


def _rejected(reason, **fields):
    logs.warning("pay_notify_rejected", reason=reason, **fields)
    return fail_answer(reason)


def on_notify(xml, pay=None, clock=system_clock):
    """WeChat's payment result notify: verified, checked against the order, applied once.
    Returns the XML answer. A notify that does not check out changes nothing."""
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.wechat.port import InvalidNotify

    pay = pay or _pay()
    try:
        fields = pay.verified_notify(xml)
    except InvalidNotify as exc:
        return _rejected(exc.reason, detail=str(exc))
    out_trade_no = fields.get("out_trade_no", "")
    if (fields.get("appid"), fields.get("mch_id")) != (settings.wechat_app_id,
                                                       settings.wechat_mch_id):
        return _rejected("merchant", out_trade_no=out_trade_no)
    try:
        order = Order.get(out_trade_no, consistent_read=True)
    except DoesNotExist:
        return _rejected("unknown_order", out_trade_no=out_trade_no)
    if fields.get("total_fee") != str(order.total_fen):
        return _rejected("amount", out_trade_no=out_trade_no, total_fee=fields.get("total_fee"),
                         expected=order.total_fen)
    if fields.get("return_code") == "SUCCESS" and fields.get("result_code") == "SUCCESS":
        try:
            record_payment(order, fields["transaction_id"], pay, clock)
        except DomainError as exc:
            return fail_answer(exc.message)  # WeChat notifies again
    return SUCCESS_ANSWER


MARK_PAID_ATTEMPTS = 20


def _mark_paid(order, transaction_id, now):
    """PENDING_PAYMENT → PAID in one transaction, on condition the order is still unpaid, so
    what goes with it counts once: the order with what it keeps and its pickup code (a pickup
    order not waiting for its group), and the payment's writes (events.payment_writes). The
    order stays in the pending-by-minute index (the minute job passes over a paid order):
    leaving it would be one more index write for every order. False if the order was no
    longer pending."""
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.core import retry
    from chalicelib.db.base import Cancellation, transaction
    from chalicelib.orders import events, fulfilment

    code = fulfilment.reserve_pickup_code(order) \
        if order.fulfilment == "pickup" and not order.awaiting_group else None
    for attempt in retry.attempts(MARK_PAID_ATTEMPTS):
        try:
            with transaction() as writes:
                kept = {"pickup_code": code} if code else {}
                for write in events.payment_writes():
                    kept.update(write(writes, order, now))
                writes.update(order, actions=[
                    Order.status.set(PAID), Order.paid_at.set(now),
                    Order.transaction_id.set(transaction_id),
                    *(getattr(Order, name).set(value) for name, value in kept.items())],
                    condition=Order.status == PENDING_PAYMENT, name="order")
            return True
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("order"):
                if code:
                    fulfilment.free_pickup_code(order, code)
                return False
            if not cancelled.lost_race:
                raise
            retry.pause(attempt)
    if code:
        fulfilment.free_pickup_code(order, code)
    raise DomainError("conflict", "The payment could not be recorded yet; WeChat notifies "
                                  "again.")


def record_payment(order, transaction_id, pay, clock=system_clock):
    """The order is paid: PENDING_PAYMENT → PAID once (a payment already recorded writes
    nothing; what payment sets off follows from the orders stream). Money for an order that
    closed first goes back."""
    if order.status == PENDING_PAYMENT and _mark_paid(order, transaction_id, clock.now()):
        logs.info("order_paid", order_id=order.order_id, total_fen=order.total_fen)
    order.refresh(consistent_read=True)
    if order.status == CLOSED:
        from chalicelib.orders import refunds

        refunds.refund_late_payment(order, pay, clock)
    return order


def goods_paid_fen(order):
    """What the shopper paid for the goods (the delivery fee earns nothing)."""
    return order.total_fen - order.breakdown["delivery_fee_fen"]




def reconcile(order, pay=None, clock=system_clock):
    """Asks WeChat how an unpaid order stands, so a lost notify does not lose a sale.
    Returns WeChat's trade_state."""
    from chalicelib.wechat.port import PayFailed

    pay = pay or _pay()
    try:
        answer = pay.query(order.order_id)
    except PayFailed as failure:
        if failure.code == "ORDERNOTEXIST":
            return "NOTPAY"  # the shopper never started paying
        raise
    if answer.get("trade_state") in PAID_AT_WECHAT \
            and answer.get("total_fee") == str(order.total_fen):
        record_payment(order, answer["transaction_id"], pay, clock)
    return answer.get("trade_state")
