"""The guides' commissions follow the orders they sold. Who earns on an order is settled as
it is paid, in the payment's own write (earners_in_payment, installed by chalicelib/wiring.py);
the subscribers of the order_paid and order_refunded events (orders/events.py), listed in
wiring.py, write each guide's sale and take refunds off it.

Each runs again after a failure and changes nothing more: a sale is written once per guide and
order, a refund taken off a sale once (guides/commissions.py)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.guides import commissions
from chalicelib.orders import events, payments, refunds


def earners_in_payment(writes, order, now):
    """Who earns on the order (its guide, and their recruiter), settled as it is paid: the
    order keeps them, for its sales and its refunds. Nothing of the guides' is written in the
    payment's transaction."""
    if not order.guide_id:
        return {}
    return {"commissions": commissions.order_earners(order.guide_id, order.member_id)}


def record_on_payment(order, clock=system_clock):
    """A sale for each guide who earns on the order (as its payment settled them)."""
    for earner in order.commissions or ():
        commissions.record_sale(earner["guide_id"], order.order_id, order.member_id,
                                order.store_id, order.channel, payments.goods_paid_fen(order),
                                order.paid_at, commissions.tier_rate_bp(earner["tier"]),
                                earner["tier"])


def take_back_on_refund(order, refund, clock=system_clock):
    """The commission on the refunded goods, from each guide who earned on the order. Waits
    for a sale the payment's subscriber has not written yet."""
    from pynamodb.exceptions import DoesNotExist

    if refund.kind != refunds.GOODS:
        return
    for earner in order.commissions or ():
        try:
            commissions.record_refund(earner["guide_id"], order.order_id, order.paid_at,
                                      refund.refund_id, refunds.goods_fen(refund))
        except DoesNotExist:
            raise events.Waiting(f"the sale of order {order.order_id} to "
                                 f"{earner['guide_id']} is not in yet") from None
