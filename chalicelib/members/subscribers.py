"""A member's points and growth follow their orders: the subscribers of the order_paid and
order_refunded events (orders/events.py) for them, listed in chalicelib/wiring.py.

Each runs again after a failure and changes nothing more: loyalty marks the points and the
growth of each order and each refund once (members/apply_once.py), and the order keeps what it
earned once."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.members import loyalty
from chalicelib.orders import events, payments, refunds


def earn_on_payment(order, clock=system_clock):
    """Points and growth for the goods paid; the order keeps what it earned for its refunds."""
    earned = loyalty.on_order_paid(order.member_id, order.order_id,
                                   payments.goods_paid_fen(order), clock)
    payments.keep_earned(order, earned)


def take_back_on_refund(order, refund, clock=system_clock):
    """The growth and the points the refunded goods earned (what the balance lacks is owed).
    Waits for the payment's own points if they are not in yet."""
    if refund.kind != refunds.GOODS:
        return
    events.wait_for_payment_effects(order, "points")
    loyalty.on_order_refunded(
        order.member_id, refund.refund_id, refund.refunded_goods_before or 0,
        refunds.goods_fen(refund), payments.goods_paid_fen(order),
        {"points": order.points_earned or 0, "growth": order.growth_earned}, clock,
        note=f"refund of order {order.order_id}")
