"""A member's points and growth follow their orders. A payment's are written in the
transaction that marks the order paid (earn_in_payment, installed by chalicelib/wiring.py),
which counts them once; the order keeps what it earned. The subscribers of the order_paid and
order_refunded events (orders/events.py) do the rest: the member's activity and tags, and a
refund's take-back, marked once per refund (members/apply_once.py)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.members import loyalty, reading, tags
from chalicelib.orders import payments, refunds


def earn_in_payment(writes, order, now):
    """Points and growth for the goods paid, and the member's order counters, in the
    payment's transaction; the order keeps what it earned for its refunds."""
    earned = loyalty.earn_in(writes, order.member_id, order.order_id,
                             payments.goods_paid_fen(order), now)
    return {"points_earned": earned["points"], "growth_earned": earned["growth"]}


def count_activity(order, clock=system_clock):
    """The day of the member's order and the tags their orders imply (safe to repeat)."""
    tags.record_activity(reading.get_member(order.member_id).member_id, clock)


def take_back_on_refund(order, refund, clock=system_clock):
    """The growth and the points the refunded goods earned (what the balance lacks is owed):
    the order keeps what its payment earned, written with the payment."""
    if refund.kind != refunds.GOODS:
        return
    loyalty.on_order_refunded(
        order.member_id, refund.refund_id, refund.refunded_goods_before or 0,
        refunds.goods_fen(refund), payments.goods_paid_fen(order),
        {"points": order.points_earned or 0, "growth": order.growth_earned}, clock,
        note=f"refund of order {order.order_id}")
