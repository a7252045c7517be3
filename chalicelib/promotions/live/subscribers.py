"""A live session's figures count its paid orders: the order_paid event's subscriber for them
(orders/events.py), listed in chalicelib/wiring.py. It runs again after a failure and counts
nothing more: each order and each buyer is counted under a mark written once (figures.py)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.promotions.live import figures


def count_payment(order, clock=system_clock):
    """An order placed in a live session counts in its figures."""
    if order.live_session_id:
        figures.on_paid(order)
