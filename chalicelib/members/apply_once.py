"""Changing a member's counters (points, growth) exactly once per source, safely under
concurrency: read the member, then write the change in one transaction that requires the
member to be as it was read and creates the source's marker. A lost race reads again and
retries; an existing marker means the change was already applied."""
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core import retry
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import AppliedChange, Member

MAX_ATTEMPTS = 60


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
    """Adds a member's change and its marker to a transaction, named member#<member id> and
    applied#<member id> (failed: it was applied before), its new items entry#<member id>#<n>."""
    writes.update(member, actions=change.actions, condition=change.condition,
                  name=f"member#{member.member_id}")
    writes.save(AppliedChange(marker_key, member_id=member.member_id, at=now,
                              outcome=change.outcome),
                condition=AppliedChange.key.does_not_exist(), name=f"applied#{member.member_id}")
    for number, item in enumerate(change.new_items):
        writes.save(item, name=f"entry#{member.member_id}#{number}")


def apply_once(member_id, marker_key, plan, now):
    """plan(member) -> Change. Returns the change's result; AlreadyApplied if the marker exists."""
    return apply_once_together([member_id], [marker_key], lambda members: [plan(members[0])],
                               now)[0]


def apply_once_together(member_ids, marker_keys, plan, now):
    """Changes several members at once (a merge moves points from one to another): plan(the
    members as read) -> a Change for each; all of them and their markers in one transaction.
    Returns the changes' results; AlreadyApplied if the first marker exists."""
    for _ in retry.attempts(MAX_ATTEMPTS):
        marker = _marker(marker_keys[0])
        if marker is not None:
            raise AlreadyApplied(marker)
        members = [Member.get(member_id, consistent_read=True) for member_id in member_ids]
        changes = plan(members)
        try:
            with transaction() as writes:
                for member, marker_key, change in zip(members, marker_keys, changes):
                    add_change(writes, member, marker_key, change, now)
            return [change.result for change in changes]
        except TransactWriteError as error:
            if not Cancellation.of(error).lost_race:
                raise
            # A marker already there means another call applied it: the loop's read says so.
    raise DomainError("conflict", "The member is changing too fast; try again.")
