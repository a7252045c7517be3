"""The guides' commissions follow the orders they sold: the subscribers of the order_paid and
order_refunded events (orders/events.py) for them, listed in chalicelib/wiring.py.

Each runs again after a failure and changes nothing more: a sale is written once per guide and
order, a refund taken off a sale once (guides/commissions.py), and the order keeps who earned
on it once."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.guides import commissions
from chalicelib.orders import events, payments, refunds


def record_on_payment(order, clock=system_clock):
    """The commissions of the order's guide, and of their recruiter; the order keeps who
    earns, for its refunds."""
    if not order.guide_id:
        return
    earners = commissions.record_order(order.guide_id, order.order_id, order.member_id,
                                       order.store_id, order.channel,
                                       payments.goods_paid_fen(order), order.paid_at)
    payments.keep_commissions(order, earners)


def take_back_on_refund(order, refund, clock=system_clock):
    """The commission on the refunded goods, from each guide who earned on the order. Waits
    for the payment's own commissions if they are not in yet."""
    if refund.kind != refunds.GOODS:
        return
    events.wait_for_payment_effects(order, "commissions")
    for earner in order.commissions or ():
        commissions.record_refund(earner["guide_id"], order.order_id, order.paid_at,
                                  refund.refund_id, refunds.goods_fen(refund))
