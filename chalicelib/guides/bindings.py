"""Binding shoppers to guides by service relationship (服务关系).

Opening a guide's link binds the shopper to that guide, unless another guide served them
within the protection period; serving again renews it. Every change is conditioned on the
guide the shopper had when read, so racing links cannot both win, and each is recorded.

A guide's own link binds nobody to themselves, and a link of someone who no longer guides at
its store binds nobody. When a guide leaves, their customers are handed over to another guide
of the store or released to the store (no guide); a binding to someone who is not a guide any
more protects nothing.

A binding the link makes (bound, rebound) is one transaction: the member's guide, the
history's event and, the first time this month that the member is bound to this guide, the
guide's new binding (its mark and the month's counter). Four items, so eight write units
where a renewal (the shopper opening their own guide's link again) is one; a customer bound
to the same guide again in the month (won by another guide, then won back) counts once."""
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.guides.commissions import month_of
from chalicelib.guides.models import BindingEvent, GuideMonth, NewBinding
from chalicelib.members import guide_binding

BOUND, RENEWED, KEPT, REBOUND, REASSIGNED, RELEASED = ("bound", "renewed", "kept", "rebound",
                                                       "reassigned", "released")
SELF_REFERRAL = "self_referral"  # refused: nothing changes


def decide(shopper, current_guide, served_at, new_guide, now, protection_days,
           current_serves=True):
    """What the shopper opening new_guide's link does: one of the actions above. No I/O.
    current_serves: whether current_guide is still a guide (a removed one protects nothing,
    nor does a binding to oneself made before such bindings were refused)."""
    if new_guide == shopper:
        return SELF_REFERRAL
    if current_guide is None:
        return BOUND
    if current_guide == new_guide:
        return RENEWED
    protected = served_at is not None and now - served_at < timedelta(days=protection_days)
    if protected and current_serves and current_guide != shopper:
        return KEPT
    return REBOUND


def _event(member_id, action, guide_id, previous, now, scene=None, by=None):
    return BindingEvent(member_id, new_id("b"), action=action, guide_id=guide_id,
                        previous_guide_id=previous, scene=scene, by=by, at=now)


def _record(member_id, action, guide_id, previous, now, scene=None, by=None):
    _event(member_id, action, guide_id, previous, now, scene, by).save()


def _bind(member, link, action, now, scene):
    """The member bound to the link's guide (bound or rebound), with its event and, once a
    month per member and guide, the guide's new binding, in one transaction. False when the
    member's guide changed since they were read (decide again)."""
    month, guide_id, counted = month_of(now), link.guide_id, True
    while True:
        try:
            with transaction() as writes:
                guide_binding.move_to_guide_in(writes, member, guide_id, now, link.store_id,
                                               name="member")
                writes.save(_event(member.member_id, action, guide_id, member.guide_id, now,
                                   scene=scene), name="event")
                if counted:
                    writes.save(NewBinding(f"{guide_id}#{month}", member.member_id, at=now),
                                condition=NewBinding.member_id.does_not_exist(),
                                name="new_binding")
                    writes.update(GuideMonth(month, guide_id),
                                  actions=[GuideMonth.new_bindings.add(1),
                                           GuideMonth.store_id.set(link.store_id)],
                                  name="guide_month")
            return True
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("member") or cancelled.conflict:
                return False
            if not (counted and cancelled.failed("new_binding")):
                raise
            counted = False  # counted this month already: bind without counting again


def _serves(guide_id):
    from chalicelib.members.staff import GUIDE, staff_of

    guide = staff_of(guide_id)
    return guide is not None and guide.role == GUIDE


def open_link(member_id, scene, clock=system_clock):
    """A shopper opened a shared link: bind, renew or keep, and make its store theirs."""
    from chalicelib.guides.links import resolve
    from chalicelib.members.reading import get_member
    from chalicelib.members.staff import guide_of

    link = resolve(scene)
    if guide_of(link.guide_id, link.store_id) is None:
        raise DomainError("not_found", "This link's guide no longer works at its store.")
    now = clock.now()
    for _ in range(5):
        member = get_member(member_id)
        current = member.guide_id
        action = decide(member.member_id, current, member.guide_served_at, link.guide_id, now,
                        settings.guide_protection_days,
                        current_serves=current in (None, link.guide_id) or _serves(current))
        if action == SELF_REFERRAL:
            raise DomainError("self_referral", "Your own link cannot bind you to yourself.")
        if action == KEPT:
            guide_binding.keep_guide_in_store(member, link.store_id)
            _record(member.member_id, action, link.guide_id, current, now, scene=scene)
        elif action == RENEWED:
            try:
                guide_binding.move_to_guide(member, link.guide_id, now, link.store_id)
            except UpdateError:
                continue  # another link was opened at the same moment: decide again
        elif not _bind(member, link, action, now, scene):
            continue  # another link was opened at the same moment: decide again
        return {"action": action, "guide_id": current if action == KEPT else link.guide_id,
                "store_id": link.store_id}
    raise DomainError("conflict", "The binding is changing; try again.")


def hand_over(from_guide, to_guide, by, clock=system_clock):
    """Every customer of from_guide goes to to_guide, or with None to no guide (their store
    stays theirs), each recorded. Returns how many moved."""
    now = clock.now()
    moved = 0
    for member in guide_binding.customers_of(from_guide):
        try:
            guide_binding.move_to_guide(member, to_guide, now)
        except UpdateError:
            continue  # rebound elsewhere meanwhile
        _record(member.member_id, REASSIGNED if to_guide else RELEASED, to_guide, from_guide,
                now, by=by)
        moved += 1
    return moved


def reassign(store_id, from_guide, to_guide, manager_id, clock=system_clock):
    """A guide of the store, or a former one, hands their customers to another guide of the
    store."""
    from chalicelib.members.staff import guide_of

    if guide_of(from_guide, store_id, former=True) is None:
        raise DomainError("not_found", f"{from_guide} is not a guide of this store.")
    if to_guide == from_guide or guide_of(to_guide, store_id) is None:
        raise DomainError("not_found", f"{to_guide} is not a guide of this store.")
    return {"moved": hand_over(from_guide, to_guide, manager_id, clock), "to_guide_id": to_guide}


def new_bindings(month, guide_ids):
    """{guide id: customers newly bound to them in the month} of the guides (a BatchGet)."""
    wanted = sorted(set(guide_ids))
    return {item.guide_id: item.new_bindings
            for item in GuideMonth.batch_get([(month, guide_id) for guide_id in wanted])} \
        if wanted else {}


def bound_in(month):
    """{guide id: (customers newly bound, the guide's store)} of every guide who bound a
    customer in the month: one Query of the month's partition (its guides, not the brand's
    members)."""
    return {item.guide_id: (item.new_bindings, item.store_id)
            for item in GuideMonth.query(month)}


def customers(guide_id, limit, cursor):
    def view(member):
        return {"member_id": member.member_id, "nickname": member.nickname,
                "name": member.name, "avatar_url": member.avatar_url,
                "served_at": member.guide_served_at.isoformat()
                if member.guide_served_at else None}

    return guide_binding.customers_page(guide_id, view, limit, cursor)


def history(member_id):
    return [{"action": e.action, "guide_id": e.guide_id, "previous_guide_id": e.previous_guide_id,
             "at": e.at.isoformat()} for e in BindingEvent.query(member_id)]
