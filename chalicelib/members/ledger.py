"""Changing a member's counters (points, growth) exactly once per source, safely under
concurrency: read the member, then write the change in one transaction that requires the
member to be as it was read and creates the source's marker. A lost race reads again and
retries; an existing marker means the change was already applied."""
import random
import time
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import AppliedChange, Member

MAX_ATTEMPTS = 60
_RACE_LOST = {"ConditionalCheckFailed", "TransactionConflict"}


class AlreadyApplied(Exception):
    def __init__(self, marker):
        super().__init__(marker.key)
        self.outcome = marker.outcome


@dataclass
class Change:
    """What to write for one member, given the member as read."""

    actions: list
    condition: object  # holds only if the member is unchanged since the read
    new_items: list = field(default_factory=list)  # created alongside (ledger entries…)
    result: object = None
    outcome: int = None  # kept on the marker, so a repeat learns what the first call did


def _marker(marker_key):
    try:
        return AppliedChange.get(marker_key, consistent_read=True)
    except DoesNotExist:
        return None


def add_change(writes, member, marker_key, change, now):
    """Adds a member's change and its marker to a transaction; the marker is the second
    item added, so a cancelled transaction's codes[1] says whether it was applied before."""
    writes.update(member, actions=change.actions, condition=change.condition)
    writes.save(AppliedChange(marker_key, member_id=member.member_id, at=now,
                              outcome=change.outcome),
                condition=AppliedChange.key.does_not_exist())
    for item in change.new_items:
        writes.save(item)


def apply_once(member_id, marker_key, plan, now):
    """plan(member) -> Change. Returns the change's result; AlreadyApplied if the marker exists."""
    for attempt in range(MAX_ATTEMPTS):
        marker = _marker(marker_key)
        if marker is not None:
            raise AlreadyApplied(marker)
        member = Member.get(member_id, consistent_read=True)
        change = plan(member)
        try:
            with transaction() as writes:
                add_change(writes, member, marker_key, change, now)
            return change.result
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise AlreadyApplied(_marker(marker_key)) from None
            if not _RACE_LOST & set(codes):
                raise
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise DomainError("conflict", "The member is changing too fast; try again.")
