"""Members: signing in, profiles, and what staff and admins do with members."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.operand import Path

from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members import loyalty, points, sessions, tags
from chalicelib.members import program as loyalty_program
from chalicelib.members.models import Member, PhoneClaim, WeChatIdentity
from chalicelib.members.privacy import phone_seen_by
from chalicelib.members.reading import get_member, refuse_blocked

# Older versions stored WeChat's session_key on the identity; a login removes it.
_OLD_SESSION_KEY = Path("session_key")
SIGN_IN_ATTEMPTS = 3
# A member's first sign-in, and their first of each day (Asia/Shanghai): an event in the
# sign-in's own transaction (no request more), its subscribers listed in chalicelib/wiring.py
# (the retail figures count a visit, and a new member).
MEMBER_SIGNED_IN = "member_signed_in"


def _signed_in_event(writes, member, now, new):
    from chalicelib.db import events

    events.add_in(writes, MEMBER_SIGNED_IN, now, member_id=member.member_id,
                  store_id=member.current_store_id or "", at=now.isoformat(),
                  new="yes" if new else "no")


def signed_in(subject):
    """What member_signed_in's subscribers take: (the member, the store they were shopping
    at then or None, when they signed in, whether it was their first sign-in)."""
    from datetime import datetime

    return (subject["member_id"], subject["store_id"] or None,
            datetime.fromisoformat(subject["at"]), subject["new"] == "yes")


def member_view(member, program=None):
    """The member as they see themselves. The WeChat ids stay on the server: the client has
    no use for them."""
    level = loyalty.current_level(member, program or loyalty_program.current())
    return {
        "member_id": member.member_id,
        "phone": member.phone,
        "name": member.name,
        "nickname": member.nickname,
        "avatar_url": member.avatar_url,
        "home_store_id": member.home_store_id,
        "current_store_id": member.current_store_id or member.home_store_id,
        "guide_id": member.guide_id,
        "level": {key: level[key] for key in ("code", "name", "discount_percent",
                                              "points_multiplier_percent")},
        "growth": member.growth,
        "points_balance": member.points_balance,
        "created_at": member.created_at.isoformat(),
    }


def member_view_for_staff(member, viewer, program=None):
    return {**member_view(member, program), "phone": phone_seen_by(viewer, member.phone),
            "tags": sorted(member.tags or ()), "source": member.source,
            "orders_count": member.orders_count, "paid_total_fen": member.paid_total_fen,
            "blocked": member.blocked_at is not None}


def _create_member(wechat_session, clock):
    """Member, identity and its first session in one transaction; the identity's condition
    makes the openid unique."""
    now = clock.now()
    member = Member(new_id("m"), openid=wechat_session.openid, unionid=wechat_session.unionid,
                    created_at=now)
    identity = WeChatIdentity(wechat_session.openid, member_id=member.member_id,
                              unionid=wechat_session.unionid, last_login_at=now)
    with transaction() as writes:
        writes.save(identity, condition=WeChatIdentity.openid.does_not_exist(), name="identity")
        writes.save(member, condition=Member.member_id.does_not_exist(), name="member")
        session = sessions.start_in(writes, member.member_id, clock, new_member=True)
        _signed_in_event(writes, member, now, new=True)
    return member, session


def _existing_identity(openid):
    try:
        return WeChatIdentity.get(openid, consistent_read=True)
    except DoesNotExist:
        return None


def _sign_in(wechat_session, clock):
    """(the member for this openid, a new session), the member created on first sign-in."""
    identity = _existing_identity(wechat_session.openid)
    if identity is None:
        return _create_member(wechat_session, clock)
    member = get_member(identity.member_id)
    refuse_blocked(member)
    if wechat_session.unionid and member.unionid != wechat_session.unionid:
        member.update(actions=[Member.unionid.set(wechat_session.unionid)])
    now = clock.now()
    with transaction() as writes:
        writes.update(identity, actions=[WeChatIdentity.last_login_at.set(now),
                                         _OLD_SESSION_KEY.remove()], name="identity")
        session = sessions.start_in(writes, member.member_id, clock)
        if tags.shanghai_day(identity.last_login_at) != tags.shanghai_day(now):
            _signed_in_event(writes, member, now, new=False)
    return member, session


def login(code, wechat, clock=system_clock):
    """Signs in with a wx.login() code. Two racing first sign-ins get one member; a sign-in
    racing a merge or a block looks again."""
    wechat_session = wechat.code_to_session(code)
    for _ in range(SIGN_IN_ATTEMPTS):
        try:
            member, session = _sign_in(wechat_session, clock)
        except TransactWriteError:
            continue
        return {**session, "member": member_view(member)}
    raise DomainError("conflict", "Signing in is busy; try again.")


def refresh(refresh_token, clock=system_clock):
    member, session = sessions.refresh(refresh_token, clock)
    return {**session, "member": member_view(member)}


def logout(access_token):
    sessions.sign_out(access_token)
    return {"signed_out": True}


def bind_phone(member_id, code, wechat, clock=system_clock):
    """Binds the phone behind a getPhoneNumber code. If that merges the caller into an
    imported member, the new tokens name the merged member (and the caller's old tokens act
    for it too)."""
    from chalicelib.members.phone import bind_phone as bind

    member = bind(member_id, wechat.phone_number(code), clock)
    return {**sessions.start(member.member_id, clock), "member": member_view(member)}


def points_page(member_id, limit, cursor):
    member = get_member(member_id)
    return {"balance": member.points_balance, "debt": member.points_debt or 0,
            **points.ledger_page(member.member_id, limit, cursor)}


def adjust_points(member_id, delta, reason, adjustment_id, admin_id, clock=system_clock):
    if delta == 0:
        raise DomainError("validation_error", "An adjustment of 0 points changes nothing.")
    member = get_member(member_id)
    entry = points.change_points(member.member_id, delta, "admin", adjustment_id, clock=clock,
                                 note=f"{reason} (by {admin_id})")
    if not entry["applied"]:
        raise DomainError("conflict", "This adjustment_id was already used.")
    return entry


def find_by_phone(phone, viewer):
    from chalicelib.members.importer import normalise_phone

    try:
        claim = PhoneClaim.get(normalise_phone(phone))
    except DoesNotExist:
        return {"members": [], "next_cursor": None}
    return {"members": [member_view_for_staff(get_member(claim.member_id), viewer)],
            "next_cursor": None}


def find_by_tags(tag_list, store_id, limit, cursor, viewer):
    found = tags.segment(tag_list, store_id, limit, cursor)
    program = loyalty_program.current()
    members = Member.batch_get(found["member_ids"]) if found["member_ids"] else []
    by_id = {member.member_id: member for member in members}
    return {"members": [member_view_for_staff(by_id[m], viewer, program)
                        for m in found["member_ids"] if m in by_id],
            "next_cursor": found["next_cursor"]}


def block(member_id, admin, clock=system_clock):
    """Blocks a member: every session acting for them ends at once, and they cannot sign in
    or refresh until unblocked. Staff keep their sessions until their role is ended."""
    from chalicelib.members.staff import staff_of

    member = get_member(member_id)
    if staff_of(member.member_id) is not None:
        raise DomainError("conflict", "This member holds a staff role; end the role first.")
    member.update(actions=[Member.blocked_at.set(clock.now()),
                           Member.blocked_by.set(admin.member_id)],
                  condition=Member.member_id.exists())
    sessions.end_all(member, sessions.BLOCKED)
    return member_view_for_staff(member, admin)


def unblock(member_id, admin):
    """They may sign in again; the sessions the block ended stay ended."""
    member = get_member(member_id)
    member.update(actions=[Member.blocked_at.remove(), Member.blocked_by.remove()],
                  condition=Member.member_id.exists())
    return member_view_for_staff(member, admin)


def choose_store(member_id, store_id):
    """The shopper picks the store they buy from (from the nearest list, or by hand)."""
    from chalicelib.catalog.stores import get_store

    store = get_store(store_id)
    if store.status != "active":
        raise DomainError("conflict", "This store has closed.")
    member = get_member(member_id)
    member.update(actions=[Member.current_store_id.set(store_id)])
    return member_view(member)


def member_of_store(member_id, store_id):
    """A member, as a store's staff may see them: only members whose home store it is."""
    member = get_member(member_id)
    if member.home_store_id != store_id:
        raise DomainError("not_found", "No such member in this store.")
    return member
