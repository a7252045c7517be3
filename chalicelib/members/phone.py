"""Binding a phone number. A phone belongs to one member; when a WeChat member binds the phone
of a member imported from the store's POS/CRM, the two become one: the imported member takes
the WeChat identity (keeping its points, level and store) and the WeChat-only record points
to it. The merge is one transaction, so it happens once however many requests race."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members import sessions
from chalicelib.members.models import Member, PhoneClaim, WeChatIdentity

ATTEMPTS = 5


def _claim_of(phone):
    try:
        return PhoneClaim.get(phone, consistent_read=True)
    except DoesNotExist:
        return None


def _claim_for(member, phone):
    with transaction() as writes:
        writes.save(PhoneClaim(phone, member_id=member.member_id),
                    condition=PhoneClaim.phone.does_not_exist())
        writes.update(member, actions=[Member.phone.set(phone)],
                      condition=Member.phone.does_not_exist())


def _merge(wechat_member, imported):
    with transaction() as writes:
        writes.update(WeChatIdentity(wechat_member.openid),
                      actions=[WeChatIdentity.member_id.set(imported.member_id)],
                      condition=WeChatIdentity.member_id == wechat_member.member_id)
        takes = [Member.openid.set(wechat_member.openid)]
        for attribute in (Member.unionid, Member.nickname, Member.avatar_url):
            value = getattr(wechat_member, attribute.attr_name)
            if value and not getattr(imported, attribute.attr_name):
                takes.append(attribute.set(value))
        takes.append(Member.merged_from.add({wechat_member.member_id}))
        writes.update(imported, actions=takes, condition=Member.openid.does_not_exist()
                      & Member.blocked_at.does_not_exist())
        writes.update(wechat_member, actions=[Member.merged_into.set(imported.member_id)],
                      condition=Member.merged_into.does_not_exist())


def _carry_over_loyalty(wechat_member, imported, clock):
    """Points and growth the WeChat-only record earned before the merge move across, once."""
    from chalicelib.members import loyalty, points

    if wechat_member.points_balance:
        points.change_points(wechat_member.member_id, -wechat_member.points_balance, "merge",
                             imported.member_id, clamp=True, clock=clock)
        points.change_points(imported.member_id, wechat_member.points_balance, "merge",
                             wechat_member.member_id, clock=clock)
    if wechat_member.growth:
        loyalty.change_growth(imported.member_id, wechat_member.growth, "merge",
                              wechat_member.member_id, clock)


def bind_phone(member_id, phone, clock=system_clock):
    """The member who now owns this phone: the caller, or the imported member it merged into."""
    from chalicelib.members.services import get_member, refuse_blocked

    for _ in range(ATTEMPTS):
        member = get_member(member_id)
        if member.phone == phone:
            if member.member_id != member_id:  # merged by an earlier request
                sessions.follow_merge(member_id, member.member_id)
            return member
        if member.phone:
            raise DomainError("conflict", "This member already has another phone number.")
        claim = _claim_of(phone)
        try:
            if claim is None:
                _claim_for(member, phone)
                return get_member(member.member_id)
            owner = get_member(claim.member_id)
            if owner.openid == member.openid:  # a racing request of this member merged them
                sessions.follow_merge(member.member_id, owner.member_id)
                return owner
            if owner.openid:
                raise DomainError("phone_taken",
                                  "This phone number belongs to another WeChat account.")
            refuse_blocked(owner)
            _merge(member, owner)
            sessions.follow_merge(member.member_id, owner.member_id)
            _carry_over_loyalty(member, owner, clock)
            return get_member(owner.member_id)
        except TransactWriteError:
            continue  # another request changed one of these records: look again
    raise DomainError("conflict", "The phone number is being bound elsewhere; try again.")
