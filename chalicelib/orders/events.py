"""The order kernel's events, and what their subscribers receive.

ORDER_PAID is written in the transaction that marks an order paid, ORDER_REFUNDED in the one
that settles a refund (db/events.py keeps each until every subscriber has run). Their
subscribers live with their domains and are listed in chalicelib/wiring.py; each takes what
the loader here gives (the order; the order and the refund), read consistently once per
delivery, and a clock."""
ORDER_PAID = "order_paid"
ORDER_REFUNDED = "order_refunded"
# ORDER_REFUNDED's name until it was renamed: events written under it may still be pending in
# the table, so wiring.py gives this kind the same subscribers and the events job delivers
# them. Nothing writes it any more.
REFUND_SETTLED = "refund_settled"


class Waiting(Exception):
    """A subscriber that must wait for what the payment sets off (tried again later)."""


def paid_order(subject):
    """What ORDER_PAID's subscribers take: (the order,)."""
    from chalicelib.orders.models import Order

    return (Order.get(subject["order_id"], consistent_read=True),)


def refunded_order(subject):
    """What ORDER_REFUNDED's subscribers take: (the order, the settled refund)."""
    from chalicelib.orders.models import Order, Refund

    return (Order.get(subject["order_id"], consistent_read=True),
            Refund.get(subject["order_id"], subject["refund_id"], consistent_read=True))


def wait_for_payment_effects(order, what):
    """Raises Waiting while the order's ORDER_PAID event still has subscribers to run: a
    refund's subscriber takes back `what` the payment's put in, so it runs after them."""
    from chalicelib.db import events

    if events.pending(ORDER_PAID, order_id=order.order_id):
        raise Waiting(f"the payment's {what} are not in yet")
