"""Staff and their roles. A brand admin invites staff with a one-time code; the person signs
in with WeChat and claims it. Store roles belong to one store."""
import secrets
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import Staff, StaffInvite

ADMIN, STORE_MANAGER, CLERK, GUIDE = "admin", "store_manager", "clerk", "guide"
STORE_ROLES = (STORE_MANAGER, CLERK, GUIDE)
ROLES = (ADMIN, *STORE_ROLES)
INVITE_VALID_DAYS = 7
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


def staff_of(member_id):
    """The staff record of a member, or None for a shopper."""
    try:
        return Staff.get(member_id)
    except DoesNotExist:
        return None


def staff_view(staff):
    return {"member_id": staff.member_id, "role": staff.role, "store_id": staff.store_id,
            "name": staff.name, "joined_at": staff.joined_at.isoformat()}


def invite(role, store_id, name, admin_id, clock=system_clock):
    if (role in STORE_ROLES) != bool(store_id):
        raise DomainError("validation_error",
                          "Store roles need a store_id; a brand admin has none.")
    if store_id:
        from chalicelib.catalog.models import Store

        try:
            Store.get(store_id)
        except DoesNotExist:
            raise DomainError("not_found", f"No store {store_id}.") from None
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
                          condition=StaffInvite.claimed_by.does_not_exist())
            writes.save(staff, condition=Staff.member_id.does_not_exist())
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise DomainError("conflict", "This invite code was already used.") from None
        if codes[1:2] == ["ConditionalCheckFailed"]:
            raise DomainError("conflict", "You already have a staff role.") from None
        raise
    return staff_view(staff)


def store_staff(store_id):
    return [staff_view(staff) for staff in Staff.by_store.query(store_id)]


def remove(member_id):
    """A person leaves: their role ends at once (roles are checked on every request)."""
    staff = staff_of(member_id)
    if staff is None:
        raise DomainError("not_found", "No such staff member.")
    staff.delete()
    return staff_view(staff)
