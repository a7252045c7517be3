"""What each part of the app calls when something happened that the member is told about.
Each queues one notification per event and source (repeating a call queues nothing more),
and none ever raises into its caller: a payment notify or a refund never fails on a message.
"""
import functools

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock
from chalicelib.notify import credits, service


def _never_raises(hook):
    @functools.wraps(hook)
    def wrapped(*args, **kwargs):
        try:
            return hook(*args, **kwargs)
        except Exception as error:
            logs.warning("notify_hook_failed", hook=hook.__name__,
                         error=f"{type(error).__name__}: {error}")
            return None
    return wrapped


def _goods(order):
    lines = (order.breakdown or {}).get("lines") or []
    if not lines:
        return "您的订单"
    name = lines[0].get("name") or "您的订单"
    return name if len(lines) == 1 else f"{name}等{len(lines)}件"


@_never_raises
def order_paid(order, clock=system_clock):
    """After payment, one message: a pickup order's code when the member may be sent it
    (the payment goes without saying, and a subscription the shopper gave is not spent on
    a second message), else the payment. Returns the notification's id, None if a message
    could not be queued."""
    if order.pickup_code and credits.has_credit(order.member_id, "pickup_ready"):
        return pickup_ready(order, clock)
    return service.notify(order.member_id, "order_paid",
                          {"order_id": order.order_id, "total_fen": order.total_fen,
                           "goods": _goods(order), "paid_at": order.paid_at or clock.now()},
                          reason=f"order {order.order_id} paid", clock=clock,
                          once_key=order.order_id)


@_never_raises
def pickup_ready(order, clock=system_clock):
    return service.notify(order.member_id, "pickup_ready",
                          {"order_id": order.order_id, "pickup_code": order.pickup_code},
                          reason=f"order {order.order_id} ready for pickup at {order.store_id}",
                          clock=clock, once_key=order.order_id)


@_never_raises
def shipped(order, clock=system_clock):
    delivery = order.delivery or {}
    service.notify(order.member_id, "shipped",
                   {"order_id": order.order_id, "carrier": delivery.get("carrier"),
                    "tracking_no": delivery.get("tracking_no"),
                    "shipped_at": order.shipped_at or clock.now()},
                   reason=f"order {order.order_id} shipped", clock=clock,
                   once_key=order.order_id)


@_never_raises
def pickup_code_given(order, clock=system_clock):
    """An order that waited for its group got its pickup code."""
    order.refresh(consistent_read=True)
    if order.pickup_code:
        pickup_ready(order, clock)


@_never_raises
def refund_done(order, refund, clock=system_clock):
    """A refund of the order went through. Returns the notification's id, None if a message
    could not be queued."""
    return service.notify(order.member_id, "refund_done",
                          {"order_id": order.order_id, "refund_fen": refund.refund_fen,
                           "settled_at": refund.settled_at or clock.now()},
                          reason=f"refund {refund.refund_id} of order {order.order_id} done",
                          clock=clock, once_key=refund.refund_id)


@_never_raises
def group_result(member_id, group, campaign_name, result, clock=system_clock):
    """result: 拼团成功 or 拼团失败."""
    outcome = "completed" if result == "拼团成功" else "failed"
    service.notify(member_id, "group_result",
                   {"group_id": group.group_id, "campaign": campaign_name, "result": result},
                   reason=f"group {group.group_id} {outcome}", clock=clock,
                   once_key=group.group_id)


@_never_raises
def flash_reminder(member_id, sale, clock=system_clock):
    return service.notify(member_id, "flash_reminder",
                          {"sale_id": sale.sale_id, "sale": sale.name,
                           "starts_at": sale.starts_at},
                          reason=f"asked to be reminded of flash sale {sale.sale_id}",
                          clock=clock, once_key=sale.sale_id)
