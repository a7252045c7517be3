"""The points ledger: append-only entries, each with the balance after it; the balance on the
member is never negative and each source (order, refund, admin adjustment, import, expiry,
merge) changes it at most once."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import unchanged
from chalicelib.errors import DomainError
from chalicelib.members import program as loyalty_program
from chalicelib.members import rules
from chalicelib.members.ledger import AlreadyApplied, Change, add_change, apply_once
from chalicelib.members.models import Member, PointsEntry

# "checkout": points paying part of an order; "release": given back when it is not paid;
# "return": given back when the goods they paid for are refunded.
SOURCES = ("order", "refund", "admin", "import", "expiry", "merge", "checkout", "release",
           "return")
EXPIRY = "expiry"


def marker_key(member_id, source, source_id):
    return f"points#{member_id}#{source}#{source_id}"


def entry_view(entry):
    return {
        "seq": entry.seq,
        "delta": entry.delta,
        "balance_after": entry.balance_after,
        "source": entry.source,
        "source_id": entry.source_id,
        "created_at": entry.created_at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "note": entry.note,
    }


def change_points(member_id, delta, source, source_id, *, note=None, clamp=False,
                  clock=system_clock, program=None):
    """Adds (delta > 0) or takes (delta < 0) points once for this source.

    Taking more than the balance is refused, or with clamp takes what is there (a refund
    reversing points already spent). Returns the ledger entry's view, with "applied": False
    if this source had already changed the points.
    """
    return _change(member_id, lambda member: delta, source, source_id, note=note,
                   clamp=clamp, clock=clock, program=program)


def plan_change(member, amount, source, source_id, now, program, *, note=None, clamp=False):
    """The ledger change `amount` makes to the member as read (a Change for ledger.apply_once,
    or for ledger.add_change inside a larger transaction such as an order's)."""
    if source not in SOURCES:
        raise ValueError(f"unknown points source {source!r}")
    if member.points_balance + amount < 0:
        if not clamp:
            raise DomainError("insufficient_points",
                              f"Only {member.points_balance} points are available.")
        amount = -member.points_balance
    seq, balance = member.points_seq + 1, member.points_balance + amount
    entry = PointsEntry(member.member_id, seq, delta=amount, balance_after=balance,
                        source=source, source_id=source_id, created_at=now, note=note)
    if amount > 0:
        entry.expires_at = rules.credit_expiry(now, program)
        entry.expiry_day = entry.expires_at.strftime("%Y-%m-%d")
    actions = [Member.points_balance.set(balance), Member.points_seq.set(seq)]
    if amount < 0:
        total = Member.points_expired_total if source == EXPIRY else Member.points_spent_total
        actions.append(total.add(-amount))
    return Change(actions, unchanged(Member.points_seq, member.points_seq), [entry], entry,
                  outcome=amount)


def change_in(writes, member, amount, source, source_id, now, *, note=None):
    """Adds a points change, once for its source, to a larger transaction (an order placed,
    released or refunded)."""
    change = plan_change(member, amount, source, source_id, now, loyalty_program.current(),
                         note=note)
    add_change(writes, member, marker_key(member.member_id, source, source_id), change, now)


def _change(member_id, delta_for, source, source_id, *, note, clamp, clock, program):
    """delta_for(member as read) gives the change, so a retry after a lost race recomputes it."""
    now = clock.now()
    program = program or loyalty_program.current()

    def plan(member):
        return plan_change(member, delta_for(member), source, source_id, now, program,
                           note=note, clamp=clamp)

    try:
        return {**entry_view(apply_once(member_id, marker_key(member_id, source, source_id),
                                        plan, now)), "applied": True}
    except AlreadyApplied as repeat:
        return {"applied": False, "source": source, "source_id": source_id,
                "delta": repeat.outcome}


def ledger_page(member_id, limit, cursor=None):
    """Newest first."""
    from chalicelib.core.pagination import decode_cursor, page

    return page(PointsEntry.query(member_id, scan_index_forward=False, limit=limit,
                                  last_evaluated_key=decode_cursor(cursor)),
                entry_view, "entries")


def expire_due(member_id, clock=system_clock):
    """Lapses the points whose validity has ended and that spends have not used."""
    now = clock.now()
    credits_expired = sum(entry.delta for entry in PointsEntry.query(
        member_id, filter_condition=(PointsEntry.delta > 0) & (PointsEntry.expires_at <= now)))


    def lapsed(member):
        return -rules.expired_points_due(credits_expired, member.points_spent_total,
                                         member.points_expired_total)

    if lapsed(Member.get(member_id, consistent_read=True)) == 0:
        return 0
    # One expiry per member per day at most; a second run of the same day changes nothing.
    result = _change(member_id, lapsed, EXPIRY, now.strftime("%Y-%m-%d"), clock=clock,
                     note="validity ended", clamp=False, program=None)
    return -result["delta"] if result["applied"] else 0


def members_with_credits_expiring_on(day):
    return sorted({entry.member_id for entry in PointsEntry.by_expiry_day.query(day)})
