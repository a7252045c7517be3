"""The figures' consumer of the kernel's changes (listed in chalicelib/wiring.py): the orders
a batch of the orders stream paid and the refunds of goods it settled, added together."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.figures import feed


def count_orders(changes, clock=system_clock):
    """The orders stream's consumer: what a batch paid and refunded, added to the figures
    together (a batch that comes again adds nothing more; a refund counts on the day it
    succeeded; a payment refunded because it came after its order closed was never in the
    figures, nor is its refund)."""
    from chalicelib.notify.credits import holding_credits
    from chalicelib.orders.events import just_paid_orders, just_settled_refunds

    contributions = [*map(feed.paid, just_paid_orders(changes)),
                     *map(feed.refunded, just_settled_refunds(changes))]
    if contributions:
        feed.add(contributions, clock, reachable=holding_credits)


def count_sign_in(member_id, store_id, at, new, clock=system_clock):
    """member_signed_in: a visit of the brand and the store they shopped at, and, on their
    first sign-in, a new member."""
    from chalicelib.figures import traffic

    traffic.visit(member_id, "login", store_id, at, new_member=new)
