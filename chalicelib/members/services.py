"""Signing in and reading members."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core import tokens
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import Member, WeChatIdentity


def member_view(member):
    return {
        "member_id": member.member_id,
        "openid": member.openid,
        "unionid": member.unionid,
        "phone": member.phone,
        "nickname": member.nickname,
        "avatar_url": member.avatar_url,
        "created_at": member.created_at.isoformat(),
    }


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


def login(code, wechat, clock=system_clock):
    wechat_session = wechat.code_to_session(code)
    member = member_for_wechat(wechat_session, clock)
    return {**tokens.session_tokens(member.member_id, clock), "member": member_view(member)}


def refresh(refresh_token, clock=system_clock):
    member_id = tokens.verify(refresh_token, tokens.REFRESH, clock)["sub"]
    member = get_member(member_id)
    return {**tokens.session_tokens(member.member_id, clock), "member": member_view(member)}


def get_member(member_id):
    try:
        return Member.get(member_id)
    except DoesNotExist:
        raise DomainError("not_found", "No such member.") from None
