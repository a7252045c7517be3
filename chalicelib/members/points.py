"""The points ledger: append-only entries, each with the balance and the debt after it; each
source (order, refund, admin adjustment, import, expiry, merge) changes points at most once.

The debt model: a clawback (a refund taking back points its order earned, a merge moving a
debt) takes what the balance has and leaves the rest as debt; every later credit pays the
debt first. Spending needs the balance, which is 0 whenever there is a debt. So what a member
holds, balance − debt, is always the sum of the ledger's deltas: points earned on goods kept
− points spent on goods kept ± adjustments − points expired.
"""
from chalicelib.core.clock import clock as system_clock
from chalicelib.db import partitions
from chalicelib.db.base import unchanged
from chalicelib.errors import DomainError
from chalicelib.members import program as loyalty_program
from chalicelib.members import rules
from chalicelib.members.apply_once import (AlreadyApplied, Change, add_change, apply_once, apply_once_together)
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
        "debt_change": entry.debt_change or 0,
        "debt_after": entry.debt_after or 0,
        "source": entry.source,
        "source_id": entry.source_id,
        "created_at": entry.created_at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "note": entry.note,
    }


def change_points(member_id, delta, source, source_id, *, note=None, to_debt=False,
                  clock=system_clock, program=None, marker_member_id=None):
    """Adds (delta > 0) or takes (delta < 0) points once for this source.

    Taking more than the balance is refused, or with to_debt (a clawback) takes what is there
    and leaves the rest as debt. A credit pays the debt first. marker_member_id: whose marker
    says the source was applied (the order's member, when the points go to the member it was
    merged into). Returns the ledger entry's view, with "applied": False if this source had
    already changed the points.
    """
    marker = marker_key(marker_member_id or member_id, source, source_id)
    now = clock.now()
    program = program or loyalty_program.current()

    def plan(member):
        return plan_change(member, delta, source, source_id, now, program, note=note,
                           to_debt=to_debt)

    try:
        return {**entry_view(apply_once(member_id, marker, plan, now)), "applied": True}
    except AlreadyApplied as repeat:
        return {"applied": False, "source": source, "source_id": source_id,
                "delta": repeat.outcome}


def plan_change(member, amount, source, source_id, now, program, *, note=None, to_debt=False):
    """The ledger change `amount` makes to the member as read (a Change for ledger.apply_once,
    or for ledger.add_change inside a larger transaction such as an order's)."""
    if source not in SOURCES:
        raise ValueError(f"unknown points source {source!r}")
    balance, debt = member.points_balance, member.points_debt or 0
    if amount >= 0:
        debt_change = -min(debt, amount)  # a credit pays the debt first
    elif balance + amount >= 0:
        debt_change = 0
    elif to_debt:
        debt_change = -amount - balance  # what the balance lacks is owed
    else:
        raise DomainError("insufficient_points", f"Only {balance} points are available.")
    balance, debt = balance + amount + debt_change, debt + debt_change
    seq = member.points_seq + 1
    entry = PointsEntry(member.member_id, seq, delta=amount, balance_after=balance,
                        debt_change=debt_change, debt_after=debt, source=source,
                        source_id=source_id, created_at=now, note=note)
    if amount > 0:
        entry.expires_at = rules.credit_expiry(now, program)
        entry.expiry_day = expiry_key(entry.expires_at, member.member_id)
    actions = [Member.points_balance.set(balance), Member.points_seq.set(seq)]
    if debt_change:
        actions.append(Member.points_debt.set(debt))
    if amount < 0:
        total = Member.points_expired_total if source == EXPIRY else Member.points_spent_total
        actions.append(total.add(-amount))
    return Change(actions, unchanged(Member.points_seq, member.points_seq), [entry], entry,
                  outcome=amount)


def kept(entry):
    """What an order keeps of the ledger entry its payment made, to write it later
    (write_kept): the entry's own numbers, compactly (the order's item stays under 1 KB);
    the rest is the order's."""
    fields = {"seq": entry.seq, "delta": entry.delta, "balance": entry.balance_after}
    if entry.debt_change or entry.debt_after:
        fields.update(debt_change=entry.debt_change, debt=entry.debt_after)
    if entry.expires_at:
        fields["expires"] = int(entry.expires_at.timestamp())
    return fields


def write_kept(member_id, fields, source, source_id, at):
    """The ledger entry an order kept (kept()), written as it was made: writing it again
    writes the same entry."""
    from datetime import datetime, timezone

    expires_at = datetime.fromtimestamp(fields["expires"], timezone.utc) \
        if "expires" in fields else None
    PointsEntry(member_id, fields["seq"], delta=fields["delta"],
                balance_after=fields["balance"], debt_change=fields.get("debt_change", 0),
                debt_after=fields.get("debt", 0), source=source, source_id=source_id,
                created_at=at, expires_at=expires_at,
                expiry_day=expiry_key(expires_at, member_id) if expires_at else None).save()


def change_in(writes, member, amount, source, source_id, now, *, note=None):
    """Adds a points change, once for its source, to a larger transaction (an order placed,
    released or refunded)."""
    change = plan_change(member, amount, source, source_id, now, loyalty_program.current(),
                         note=note)
    add_change(writes, member, marker_key(member.member_id, source, source_id), change, now)


def move_all(from_id, into_id, clock=system_clock):
    """What one member holds in points (balance less debt) moves to another, once, in one
    transaction: a merge. Returns the points moved (negative: a debt moved)."""
    now = clock.now()
    program = loyalty_program.current()

    def plan(members):
        source, into = members
        held = source.points_balance - (source.points_debt or 0)
        return [plan_change(source, -held, "merge", into_id, now, program, to_debt=True,
                            note=f"merged into {into_id}"),
                plan_change(into, held, "merge", from_id, now, program, to_debt=True,
                            note=f"merged from {from_id}")]

    source = Member.get(from_id, consistent_read=True)
    if source.points_balance == 0 and not source.points_debt:
        return 0
    try:
        changes = apply_once_together(
            [from_id, into_id], [marker_key(from_id, "merge", into_id),
                                 marker_key(into_id, "merge", from_id)], plan, now)
        return changes[1].delta
    except AlreadyApplied as repeat:
        return -repeat.outcome


def ledger_page(member_id, limit, cursor=None):
    """Newest first."""
    from chalicelib.core.pagination import query_page

    return query_page(PointsEntry, member_id, entry_view, "entries", limit=limit, cursor=cursor,
                      scan_index_forward=False)


class _NothingLapsed(Exception):
    pass


def expire_due(member_id, clock=system_clock):
    """Lapses the points whose validity has ended and that spends have not used."""
    now = clock.now()
    day = now.strftime("%Y-%m-%d")  # one expiry per member per day at most
    credits_expired = sum(entry.delta for entry in PointsEntry.query(
        member_id, filter_condition=(PointsEntry.delta > 0) & (PointsEntry.expires_at <= now)))
    program = loyalty_program.current()

    def plan(member):
        lapsed = rules.expired_points_due(credits_expired, member.points_spent_total,
                                          member.points_expired_total)
        if not lapsed:
            raise _NothingLapsed
        return plan_change(member, -lapsed, EXPIRY, day, now, program, note="validity ended")

    try:
        return -apply_once(member_id, marker_key(member_id, EXPIRY, day), plan, now).delta
    except (AlreadyApplied, _NothingLapsed):
        return 0


def expiry_key(expires_at, member_id):
    """A credit's key in the by-expiry-day index, which every credit of a day shares: the day
    (YYYY-MM-DD, UTC) spread over partitions (db/partitions.py)."""
    return partitions.spread(expires_at.strftime("%Y-%m-%d"), member_id)


def members_with_credits_expiring_on(day):
    return sorted({entry.member_id for key in partitions.every(day)
                   for entry in PointsEntry.by_expiry_day.query(key)})
