"""A member's guide (服务关系), as guides/bindings.py reads and moves it: the members' side of
a binding, so that no other domain writes the Member model.

Every move is conditioned on the guide the member had when read: two links opened at once
cannot both win, and a hand-over skips a member who was rebound meanwhile."""
from chalicelib.core.pagination import query_page, whole_items
from chalicelib.members.models import Member


def _move(member, guide_id, now, store_id):
    """(actions, condition) of a move: conditioned on the guide the member had when read."""
    unchanged = (Member.guide_id == member.guide_id) if member.guide_id else \
        Member.guide_id.does_not_exist()
    actions = [Member.guide_id.set(guide_id), Member.guide_served_at.set(now)] if guide_id \
        else [Member.guide_id.remove(), Member.guide_served_at.remove()]
    if store_id:
        actions.append(Member.current_store_id.set(store_id))
    return actions, unchanged


def move_to_guide(member, guide_id, now, store_id=None):
    """Points the member at the guide (None: no guide), its protection starting now, and
    makes store_id (if given) their current store. Raises pynamodb's UpdateError when their
    guide changed since `member` was read."""
    actions, unchanged = _move(member, guide_id, now, store_id)
    member.update(actions=actions, condition=unchanged)


def move_to_guide_in(writes, member, guide_id, now, store_id=None, name="member"):
    """The same move inside a transaction (its item named `name`): the transaction fails on
    that name when the member's guide changed since `member` was read."""
    actions, unchanged = _move(member, guide_id, now, store_id)
    writes.update(member, actions=actions, condition=unchanged, name=name)


def keep_guide_in_store(member, store_id):
    """The member keeps their guide (another one's link changed nothing) and buys from the
    link's store."""
    member.update(actions=[Member.current_store_id.set(store_id)])


def _members(keys):
    """The members of a page of the by-guide index (keys only), in its order."""
    return whole_items(Member, keys, lambda member: member.member_id)


def customers_of(guide_id):
    """The members the guide serves (the by-guide index), read a hundred at a time."""
    page = []
    for key in Member.by_guide.query(guide_id):
        page.append(key)
        if len(page) == 100:
            yield from _members(page)
            page = []
    yield from _members(page)


def customers_page(guide_id, view, limit, cursor):
    """A page of the guide's customers, each as view(member) makes it."""
    return query_page(Member.by_guide, guide_id, view, "customers", limit=limit,
                      cursor=cursor, load=_members)
