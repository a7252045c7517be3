"""A member's points and growth follow their orders. A payment's are written in the
transaction that marks the order paid (earn_in_payment, installed by chalicelib/wiring.py),
which counts them once; the order keeps what it earned, and its ledger entry, which the
order_paid event writes. The subscribers of the order_paid and
order_refunded events (orders/events.py) do the rest: the member's activity and tags, and a
refund's take-back, marked once per refund (members/apply_once.py)."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.members import loyalty, points, reading, tags
from chalicelib.orders import payments, refunds


def earn_in_payment(writes, order, now):
    """Points and growth for the goods paid, and the member's order counters, in the
    payment's transaction; the order keeps what it earned for its refunds."""
    earned = loyalty.earn_in(writes, order.member_id, order.order_id,
                             payments.goods_paid_fen(order), now)
    keeps = {"points_earned": earned["points"], "growth_earned": earned["growth"],
             "member_order_number": earned["order_number"]}
    if earned["first_paid_at"] is not None:
        keeps["member_first_paid_at"] = earned["first_paid_at"]
    if earned["entry"] is not None:
        keeps["points_entry"] = points.kept(earned["entry"])
    return keeps


def record_points_entry(order, clock=system_clock):
    """The ledger entry of the points the payment earned, as the payment made it: one write
    from the order, not a second item in the payment's transaction (safe to repeat)."""
    if order.points_entry:
        points.write_kept(order.member_id, order.points_entry, "order", order.order_id,
                          order.paid_at)


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
