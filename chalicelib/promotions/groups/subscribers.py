"""A group fills as its orders are paid: the order_paid event's subscriber for it
(orders/events.py), listed in chalicelib/wiring.py. It runs again after a failure and changes
nothing more: the seat is paid and the group completes on conditions (completion.py)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.promotions.groups import completion


def fill_on_payment(order, clock=system_clock):
    """A group order's seat is paid; a full group completes."""
    if order.group_id:
        completion.on_paid(order, clock)
