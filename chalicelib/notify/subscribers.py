"""The shopper is told of a payment and of a refund: the subscribers of the order_paid and
order_refunded events (orders/events.py) for them, listed in chalicelib/wiring.py. They run
again until the message is queued, and queue it once (notify/hooks.py: once per order, or
refund)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.notify import hooks


def tell_paid(order, clock=system_clock):
    if hooks.order_paid(order, clock) is None:
        raise RuntimeError("the payment message could not be queued")


def tell_refunded(order, refund, clock=system_clock):
    if hooks.refund_done(order, refund, clock) is None:
        raise RuntimeError("the refund message could not be queued")
