"""Members: signing in, profiles, and what staff and admins do with members."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core import tokens
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members import loyalty, points, tags
from chalicelib.members import program as loyalty_program
from chalicelib.members.models import Member, PhoneClaim, WeChatIdentity


def member_view(member, program=None):
    level = loyalty.current_level(member, program or loyalty_program.current())
    return {
        "member_id": member.member_id,
        "openid": member.openid,
        "unionid": member.unionid,
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


def member_view_for_staff(member, program=None):
    return {**member_view(member, program), "tags": sorted(member.tags or ()),
            "source": member.source, "orders_count": member.orders_count,
            "paid_total_fen": member.paid_total_fen}


def _create_member(wechat_session, now):
    """Member and identity in one transaction; the identity's condition makes the openid unique."""
    member = Member(new_id("m"), openid=wechat_session.openid, unionid=wechat_session.unionid,
                    created_at=now)
    identity = WeChatIdentity(wechat_session.openid, member_id=member.member_id,
                              unionid=wechat_session.unionid,
                              session_key=wechat_session.session_key, last_login_at=now)
    with transaction() as writes:
        writes.save(identity, condition=WeChatIdentity.openid.does_not_exist())
        writes.save(member, condition=Member.member_id.does_not_exist())
    return member


def _existing_identity(openid):
    try:
        return WeChatIdentity.get(openid, consistent_read=True)
    except DoesNotExist:
        return None


def member_for_wechat(wechat_session, clock=system_clock):
    """The member for this openid, created on first sign-in; two racing sign-ins get one member."""
    now = clock.now()
    identity = _existing_identity(wechat_session.openid)
    if identity is None:
        try:
            return _create_member(wechat_session, now)
        except TransactWriteError:
            identity = _existing_identity(wechat_session.openid)
            if identity is None:
                raise
    identity.update(actions=[WeChatIdentity.session_key.set(wechat_session.session_key),
                             WeChatIdentity.last_login_at.set(now)])
    member = get_member(identity.member_id)
    if wechat_session.unionid and member.unionid != wechat_session.unionid:
        member.update(actions=[Member.unionid.set(wechat_session.unionid)])
    return member


def _session_for(member, clock):
    return {**tokens.session_tokens(member.member_id, clock), "member": member_view(member)}


def login(code, wechat, clock=system_clock):
    return _session_for(member_for_wechat(wechat.code_to_session(code), clock), clock)


def refresh(refresh_token, clock=system_clock):
    member_id = tokens.verify(refresh_token, tokens.REFRESH, clock)["sub"]
    return _session_for(get_member(member_id), clock)


def bind_phone(member_id, code, wechat, clock=system_clock):
    """Binds the phone behind a getPhoneNumber code. If that merges the caller into an
    imported member, the new tokens name the merged member."""
    from chalicelib.members.phone import bind_phone as bind

    return _session_for(bind(member_id, wechat.phone_number(code), clock), clock)


def get_member(member_id):
    """The member, following a merge: a WeChat-only record merged into an imported member
    answers with the member it became."""
    try:
        member = Member.get(member_id, consistent_read=True)
        if member.merged_into:
            member = Member.get(member.merged_into, consistent_read=True)
        return member
    except DoesNotExist:
        raise DomainError("not_found", "No such member.") from None


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


def find_by_phone(phone):
    from chalicelib.members.importer import normalise_phone

    try:
        claim = PhoneClaim.get(normalise_phone(phone))
    except DoesNotExist:
        return {"members": [], "next_cursor": None}
    return {"members": [member_view_for_staff(get_member(claim.member_id))],
            "next_cursor": None}


def find_by_tags(tag_list, store_id, limit, cursor):
    found = tags.segment(tag_list, store_id, limit, cursor)
    program = loyalty_program.current()
    members = Member.batch_get(found["member_ids"]) if found["member_ids"] else []
    by_id = {member.member_id: member for member in members}
    return {"members": [member_view_for_staff(by_id[m], program) for m in found["member_ids"]
                        if m in by_id],
            "next_cursor": found["next_cursor"]}


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
