"""Growth value and levels, and what a paid or refunded order does to a member's loyalty.

Checkout calls on_order_paid / on_order_refunded; each is safe to call more than once.
"""
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import unchanged
from chalicelib.members import points, rules, tags
from chalicelib.members import program as loyalty_program
from chalicelib.members.ledger import AlreadyApplied, Change, apply_once
from chalicelib.members.models import Member


def change_growth(member_id, delta, source, source_id, clock=system_clock, program=None):
    """Adds growth once for this source (never below 0) and recomputes the level.
    Returns the new level code, or None if this source had already changed growth."""
    now = clock.now()
    program = program or loyalty_program.current()

    def plan(member):
        growth = max(0, member.growth + delta)
        level = rules.level_for(growth, program, member.assigned_level)["code"]
        return Change([Member.growth.set(growth), Member.level.set(level)],
                      unchanged(Member.growth, member.growth), result=level)

    try:
        return apply_once(member_id, f"growth#{member_id}#{source}#{source_id}", plan, now)
    except AlreadyApplied:
        return None


def current_level(member, program):
    return rules.level_for(member.growth, program, member.assigned_level)


def on_order_paid(member_id, order_id, paid_fen, clock=system_clock):
    """Growth and points for a paid order, and the member's activity for computed tags.
    Returns the points earned, which the order keeps for a later refund."""
    program = loyalty_program.current()
    # Points first, at the level the member had before this order's growth.
    level = current_level(Member.get(member_id, consistent_read=True), program)
    earned = rules.points_for_payment(paid_fen, level, program)
    if earned:
        earned = points.change_points(member_id, earned, "order", order_id, clock=clock,
                                      program=program)["delta"]
    if change_growth(member_id, rules.growth_for_payment(paid_fen, program), "order", order_id,
                     clock, program) is not None:
        tags.record_order(member_id, order_id, paid_fen, clock)
    return earned


def on_order_refunded(member_id, order_id, refund_id, refunded_fen, paid_fen, points_earned,
                      clock=system_clock):
    """Takes back the growth and the share of the order's points that the refunded amount
    had earned (as far as those points are still there)."""
    program = loyalty_program.current()
    change_growth(member_id, -rules.growth_for_payment(refunded_fen, program), "refund",
                  refund_id, clock, program)
    taken_back = points_earned * refunded_fen // paid_fen if paid_fen else 0
    if taken_back:
        points.change_points(member_id, -taken_back, "refund", refund_id, clamp=True,
                             clock=clock, program=program, note=f"refund of order {order_id}")
