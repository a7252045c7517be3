"""The figures' consumers of the kernel's events (listed in chalicelib/wiring.py): paid
orders from the orders stream, a batch at a time; a settled refund from its event."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.figures import feed


def count_paid_orders(changes, clock=system_clock):
    """The orders stream's consumer: the orders a batch moved to PAID, added to the figures
    together (a batch that comes again adds nothing more)."""
    from chalicelib.orders.events import just_paid_orders

    orders = just_paid_orders(changes)
    if orders:
        feed.add([feed.paid(order) for order in orders], clock)


def count_refund(order, refund, clock=system_clock):
    """A refund of goods that succeeded counts on the day it succeeded (a payment refunded
    because it came after its order closed was never in the figures)."""
    from chalicelib.orders.refunds import GOODS, SUCCESS

    if refund.kind == GOODS and refund.status == SUCCESS and order.paid_at:
        feed.add([feed.refunded(order, refund)], clock)
