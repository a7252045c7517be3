"""Binding shoppers to guides by service relationship (服务关系).

Opening a guide's link binds the shopper to that guide, unless another guide served them
within the protection period; serving again renews it. Every change is conditioned on the
guide the shopper had when read, so racing links cannot both win, and each is recorded."""
from datetime import timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.errors import DomainError
from chalicelib.guides.models import BindingEvent
from chalicelib.members.models import Member

BOUND, RENEWED, KEPT, REBOUND, REASSIGNED = "bound", "renewed", "kept", "rebound", "reassigned"


def decide(current_guide, served_at, new_guide, now, protection_days):
    """What opening new_guide's link does: one of the actions above. No I/O."""
    if current_guide is None:
        return BOUND
    if current_guide == new_guide:
        return RENEWED
    if served_at is not None and now - served_at < timedelta(days=protection_days):
        return KEPT
    return REBOUND


def _record(member_id, action, guide_id, previous, now, scene=None, by=None):
    BindingEvent(member_id, new_id("b"), action=action, guide_id=guide_id,
                 previous_guide_id=previous, scene=scene, by=by, at=now).save()


def _move(member, guide_id, now, store_id=None):
    """Points the member at the guide if nobody changed their guide since it was read."""
    unchanged = (Member.guide_id == member.guide_id) if member.guide_id else \
        Member.guide_id.does_not_exist()
    actions = [Member.guide_id.set(guide_id), Member.guide_served_at.set(now)]
    if store_id:
        actions.append(Member.current_store_id.set(store_id))
    member.update(actions=actions, condition=unchanged)


def open_link(member_id, scene, clock=system_clock):
    """A shopper opened a shared link: bind, renew or keep, and make its store theirs."""
    from chalicelib.guides.links import resolve
    from chalicelib.members.services import get_member

    link = resolve(scene)
    now = clock.now()
    for _ in range(5):
        member = get_member(member_id)
        action = decide(member.guide_id, member.guide_served_at, link.guide_id, now,
                        settings.guide_protection_days)
        previous = member.guide_id
        try:
            if action == KEPT:
                member.update(actions=[Member.current_store_id.set(link.store_id)])
            else:
                _move(member, link.guide_id, now, link.store_id)
        except UpdateError:
            continue  # another link was opened at the same moment: decide again
        if action != RENEWED:
            _record(member.member_id, action, link.guide_id, previous, now, scene=scene)
        return {"action": action, "guide_id": member.guide_id if action == KEPT
                else link.guide_id, "store_id": link.store_id}
    raise DomainError("conflict", "The binding is changing; try again.")


def reassign(store_id, from_guide, to_guide, manager_id, clock=system_clock):
    """A guide leaves: all their customers go to another guide of the same store (before the
    leaving guide's role is ended)."""
    from chalicelib.members.staff import GUIDE, staff_of

    for guide_id in (from_guide, to_guide):
        guide = staff_of(guide_id)
        if guide is None or guide.role != GUIDE or guide.store_id != store_id:
            raise DomainError("not_found", f"{guide_id} is not a guide of this store.")
    now = clock.now()
    moved = 0
    for member in Member.by_guide.query(from_guide):
        try:
            _move(member, to_guide, now)
        except UpdateError:
            continue  # rebound elsewhere meanwhile
        _record(member.member_id, REASSIGNED, to_guide, from_guide, now, by=manager_id)
        moved += 1
    return {"moved": moved, "to_guide_id": to_guide}


def customers(guide_id, limit, cursor):
    from chalicelib.core.pagination import decode_cursor, page

    def view(member):
        return {"member_id": member.member_id, "nickname": member.nickname,
                "name": member.name, "avatar_url": member.avatar_url,
                "served_at": member.guide_served_at.isoformat()
                if member.guide_served_at else None}

    return page(Member.by_guide.query(guide_id, limit=limit,
                                      last_evaluated_key=decode_cursor(cursor)),
                view, "customers")


def history(member_id):
    return [{"action": e.action, "guide_id": e.guide_id, "previous_guide_id": e.previous_guide_id,
             "at": e.at.isoformat()} for e in BindingEvent.query(member_id)]
