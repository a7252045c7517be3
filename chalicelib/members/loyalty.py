"""Growth value and levels, and what a paid or refunded order does to a member's loyalty.

A paid order's points, growth and counters are written in the very transaction that marks it
paid (earn_in): the order's own condition, still unpaid, makes them count once, with no marker
of their own. A refund's are taken back by on_order_refunded, safe to call more than once.
Both act on the member the order's member became (a merge).
"""
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import unchanged
from chalicelib.members import points, rules, tags
from chalicelib.members import program as loyalty_program
from chalicelib.members.apply_once import AlreadyApplied, Change, apply_once
from chalicelib.members.models import Member


def change_growth(member_id, delta, source, source_id, clock=system_clock, program=None, *,
                  marker_member_id=None, also=()):
    """Adds growth once for this source (never below 0) and recomputes the level; `also`:
    more of the member's actions to write with it. Returns the growth it added (negative: took),
    the same on a repeat."""
    now = clock.now()
    program = program or loyalty_program.current()

    def plan(member):
        growth = max(0, member.growth + delta)
        level = rules.level_for(growth, program, member.assigned_level)["code"]
        return Change([Member.growth.set(growth), Member.level.set(level), *also],
                      unchanged(Member.growth, member.growth), result=growth - member.growth,
                      outcome=growth - member.growth)

    marker = f"growth#{marker_member_id or member_id}#{source}#{source_id}"
    try:
        return apply_once(member_id, marker, plan, now)
    except AlreadyApplied as repeat:
        return repeat.outcome


def current_level(member, program):
    return rules.level_for(member.growth, program, member.assigned_level)


def _holder(member_id):
    """The member who holds the loyalty of `member_id` (the member it was merged into)."""
    from chalicelib.members.reading import get_member

    return get_member(member_id)


def earn_in(writes, member_id, order_id, paid_fen, now):
    """The points and growth a paid order earns, and the member's order counters, added to
    the transaction that marks the order paid (named "member"): on condition the member is
    as read, so a race lost reads again. Points first, at the level the member had before
    this order's growth. Returns what the order keeps, for its refunds to take back, and the
    ledger entry of its points, written from the order once it is paid (points.write_kept):
    {"points", "growth", "entry", "order_number": the member's how manieth paid order,
    "first_paid_at": when they paid their first (None for a member whose orders came before
    it was kept)}."""
    program = loyalty_program.current()
    holder = _holder(member_id)
    paid = rules.points_for_payment(paid_fen, current_level(holder, program), program)
    growth = max(0, holder.growth + rules.growth_for_payment(paid_fen, program))
    level = rules.level_for(growth, program, holder.assigned_level)["code"]
    actions = [Member.growth.set(growth), Member.level.set(level),
               *tags.order_counted(paid_fen, now)]
    first_paid_at = holder.first_paid_at
    if not holder.orders_count:
        first_paid_at = now
        actions.append(Member.first_paid_at.set(now))
    condition = unchanged(Member.growth, holder.growth)
    entries = []
    if paid:
        change = points.plan_change(holder, paid, "order", order_id, now, program)
        actions, condition, entries = actions + change.actions, \
            condition & change.condition, change.new_items
    writes.update(holder, actions=actions, condition=condition, name="member")
    return {"points": paid, "growth": growth - holder.growth,
            "entry": entries[0] if entries else None, "order_number": holder.orders_count + 1,
            "first_paid_at": first_paid_at}


def taken_back(earned, refunded_before_fen, refunded_fen, paid_fen):
    """What a refund takes back of what an order earned: refunds take back, together,
    earned × goods refunded so far / goods paid (rounded down), so the refunds of all an
    order's goods take back exactly what it earned."""
    if not paid_fen:
        return 0
    return (earned * (refunded_before_fen + refunded_fen) // paid_fen
            - earned * refunded_before_fen // paid_fen)


def on_order_refunded(member_id, refund_id, refunded_before_fen, refunded_fen, paid_fen,
                      earned, clock=system_clock, note=None):
    """Takes back the growth and the points the refunded goods had earned (earned: the
    order's {"points", "growth"}; growth None: an order paid before orders kept it); what the
    balance lacks of the points is owed (a debt)."""
    program = loyalty_program.current()
    holder = _holder(member_id)
    growth_earned = earned["growth"]
    if growth_earned is None:
        growth_earned = rules.growth_for_payment(paid_fen, program)
    growth = taken_back(growth_earned, refunded_before_fen, refunded_fen, paid_fen)
    if growth:
        change_growth(holder.member_id, -growth, "refund", refund_id, clock, program,
                      marker_member_id=member_id)
    earned_points = taken_back(earned["points"], refunded_before_fen, refunded_fen, paid_fen)
    if earned_points:
        points.change_points(holder.member_id, -earned_points, "refund", refund_id,
                             to_debt=True, clock=clock, program=program, note=note,
                             marker_member_id=member_id)


def caller_level(member_id):
    """The level whose prices the caller sees; None for a visitor who has not signed in."""
    if member_id is None:
        return None
    from chalicelib.errors import DomainError
    from chalicelib.members.reading import get_member

    try:
        member = get_member(member_id)
    except DomainError:
        return None
    return current_level(member, loyalty_program.current())
