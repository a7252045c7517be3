"""Staff and their roles. A brand admin invites staff with a one-time code; the person signs
in with WeChat and claims it. Store roles belong to one store.

Removing someone ends their role but keeps their record, so a former guide of a store is still
known (their customers can be handed over). The brand never loses its last admin: admins are
counted, and each claim and removal moves the count in the transaction that changes the role,
on condition that one admin stays; two admins removing each other at once leave one."""
import secrets
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core.clock import clock as system_clock
from chalicelib.db import settings
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import Staff, StaffInvite

ADMIN, STORE_MANAGER, CLERK, GUIDE = "admin", "store_manager", "clerk", "guide"
STORE_ROLES = (STORE_MANAGER, CLERK, GUIDE)
INVITE_VALID_DAYS = 7
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
ADMIN_COUNT = "staff:admins"  # the brand setting whose counter is the number of admins
ATTEMPTS = 5


def _record_of(member_id):
    try:
        return Staff.get(member_id)
    except DoesNotExist:
        return None


def staff_of(member_id):
    """The staff record of a member, or None for a shopper or a former staff member."""
    record = _record_of(member_id)
    return record if record is not None and record.ended_at is None else None


def guide_of(member_id, store_id, former=False):
    """The member's record as a guide of the store (or as a former one too, with former), or
    None."""
    record = _record_of(member_id) if former else staff_of(member_id)
    if record is None or record.role != GUIDE or record.store_id != store_id:
        return None
    return record


def admin_count():
    return settings.count(ADMIN_COUNT)


def _admins_in(writes, change):
    """Adds a change of the admin count to a transaction; one that would leave no admin fails
    it."""
    settings.count_in(writes, ADMIN_COUNT, change, name="admin_count",
                      stays_above=1 if change < 0 else None)


def staff_view(staff):
    return {"member_id": staff.member_id, "role": staff.role, "store_id": staff.store_id,
            "name": staff.name, "joined_at": staff.joined_at.isoformat()}


def invite(role, store_id, name, admin_id, clock=system_clock):
    if (role in STORE_ROLES) != bool(store_id):
        raise DomainError("validation_error",
                          "Store roles need a store_id; a brand admin has none.")
    if store_id:
        from chalicelib.catalog.stores import get_store

        get_store(store_id)
    now = clock.now()
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    invitation = StaffInvite(code, role=role, store_id=store_id, name=name, created_by=admin_id,
                             created_at=now, expires_at=now + timedelta(days=INVITE_VALID_DAYS))
    invitation.save(condition=StaffInvite.code.does_not_exist())
    return {"code": code, "role": role, "store_id": store_id,
            "expires_at": invitation.expires_at.isoformat()}


def claim(code, member_id, clock=system_clock):
    now = clock.now()
    try:
        invitation = StaffInvite.get(code.strip().upper(), consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", "No such invite code.") from None
    if invitation.claimed_by or invitation.expires_at <= now:
        raise DomainError("conflict", "This invite code was already used or has expired.")
    staff = Staff(member_id, role=invitation.role, store_id=invitation.store_id,
                  name=invitation.name, invited_by=invitation.created_by, joined_at=now)
    try:
        with transaction() as writes:
            writes.update(invitation, actions=[StaffInvite.claimed_by.set(member_id)],
                          condition=StaffInvite.claimed_by.does_not_exist(), name="invite")
            writes.save(staff, condition=Staff.member_id.does_not_exist()
                        | Staff.ended_at.exists(),  # a former staff member may come back
                        name="staff")
            if staff.role == ADMIN:
                _admins_in(writes, +1)
    except TransactWriteError as error:
        cancelled = Cancellation.of(error)
        if cancelled.failed("invite"):
            raise DomainError("conflict", "This invite code was already used.") from None
        if cancelled.failed("staff"):
            raise DomainError("conflict", "You already have a staff role.") from None
        if cancelled.conflict:
            raise DomainError("conflict", "Staff are changing; try again.") from None
        raise
    return staff_view(staff)


def guide_view(record):
    """A guide as reports show them: {"guide_id", "name", "store_id", "current"} (current:
    whether they guide now; a former guide's record keeps their last store)."""
    return {"guide_id": record.member_id, "name": record.name, "store_id": record.store_id,
            "current": record.role == GUIDE and record.ended_at is None}


def store_guides(store_id):
    """The store's guides, current and former, as guide_view has them: one Query of the
    store's staff (the by-store index), whatever the brand's size."""
    return [guide_view(record) for record in Staff.by_store.query(
        store_id, filter_condition=Staff.role == GUIDE)]


def guides(member_ids):
    """{member id: guide_view} of those of the members who are or were staff (a guide who
    left may since have come back in another role), in BatchGets."""
    wanted = sorted(set(member_ids))
    return {record.member_id: guide_view(record)
            for record in Staff.batch_get(wanted)} if wanted else {}


def store_staff(store_id):
    return [staff_view(staff) for staff in Staff.by_store.query(
        store_id, filter_condition=Staff.ended_at.does_not_exist())]


def remove(member_id, to_guide_id=None, clock=system_clock):
    """A person leaves: their role ends at once (roles are checked on every request). Returns
    their ended record; a guide's customers are then handed over (guides.bindings.hand_over)
    to to_guide_id, checked here to be another guide of their store before anything changes.
    Removing a former staff member again ends nothing more (their customers can be handed
    over again)."""
    record = _record_of(member_id)
    if record is None:
        raise DomainError("not_found", "No such staff member.")
    if to_guide_id is not None:
        if record.role != GUIDE:
            raise DomainError("validation_error", "Only a guide has customers to hand over.")
        if to_guide_id == member_id or guide_of(to_guide_id, record.store_id) is None:
            raise DomainError("validation_error",
                              f"{to_guide_id} is not a guide of store {record.store_id}.")
    if record.ended_at is None:
        _end(record, clock.now())
    return record


def _end(record, now):
    for _ in range(ATTEMPTS):
        try:
            with transaction() as writes:
                writes.update(record, actions=[Staff.ended_at.set(now)],
                              condition=Staff.ended_at.does_not_exist()
                              & (Staff.joined_at == record.joined_at), name="staff")
                if record.role == ADMIN:
                    _admins_in(writes, -1)
            record.ended_at = now
            return
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("staff"):
                raise DomainError("conflict", "This role changed meanwhile; look again.") from None
            if cancelled.failed("admin_count"):
                raise DomainError("last_admin", "The brand keeps at least one admin: invite "
                                                "another before this one leaves.") from None
            if not cancelled.conflict:
                raise
    raise DomainError("conflict", "Staff are changing; try again.")
