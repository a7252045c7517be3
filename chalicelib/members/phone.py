"""Binding a phone number. A phone belongs to one member; when a WeChat member binds the phone
of a member imported from the store's POS/CRM, the two become one: the imported member takes
the WeChat identity (keeping its points, level and store) and the WeChat-only record points
to it. The merge is one transaction, so it happens once however many requests race; it leaves
a members_merged event in that transaction, whose subscribers carry the WeChat record's
sessions, points (one transaction for both members) and growth across, until they have."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members import sessions
from chalicelib.members.models import Member, PhoneClaim, WeChatIdentity

ATTEMPTS = 5
MEMBERS_MERGED = "members_merged"  # its subscribers are listed in chalicelib/wiring.py


def _claim_of(phone):
    try:
        return PhoneClaim.get(phone, consistent_read=True)
    except DoesNotExist:
        return None


def _claim_for(member, phone):
    with transaction() as writes:
        writes.save(PhoneClaim(phone, member_id=member.member_id),
                    condition=PhoneClaim.phone.does_not_exist(), name="phone_claim")
        writes.update(member, actions=[Member.phone.set(phone)],
                      condition=Member.phone.does_not_exist(), name="member")


def _merge(wechat_member, imported, now):
    from chalicelib.db import events

    with transaction() as writes:
        writes.update(WeChatIdentity(wechat_member.openid),
                      actions=[WeChatIdentity.member_id.set(imported.member_id)],
                      condition=WeChatIdentity.member_id == wechat_member.member_id,
                      name="identity")
        takes = [Member.openid.set(wechat_member.openid)]
        for attribute in (Member.unionid, Member.nickname, Member.avatar_url):
            value = getattr(wechat_member, attribute.attr_name)
            if value and not getattr(imported, attribute.attr_name):
                takes.append(attribute.set(value))
        takes.append(Member.merged_from.add({wechat_member.member_id}))
        writes.update(imported, actions=takes, condition=Member.openid.does_not_exist()
                      & Member.blocked_at.does_not_exist(), name="imported_member")
        writes.update(wechat_member, actions=[Member.merged_into.set(imported.member_id)],
                      condition=Member.merged_into.does_not_exist(), name="wechat_member")
        events.add_in(writes, MEMBERS_MERGED, now, merged=wechat_member.member_id,
                      into=imported.member_id)


def merged_members(subject):
    """The members_merged event's subscribers take (the WeChat-only record, the member it
    became), as they are now."""
    return (Member.get(subject["merged"], consistent_read=True),
            Member.get(subject["into"], consistent_read=True))


def carry_over_sessions(merged, into, clock=system_clock):
    """The WeChat record's sessions act for the member it became (until this has run, the
    door still lets them act for the record, which members' reads follow to the merge)."""
    sessions.follow_merge(merged.member_id, into.member_id)


def carry_over_points(merged, into, clock=system_clock):
    """What the WeChat-only record held in points (or owed) moves across, once."""
    from chalicelib.members import points

    points.move_all(merged.member_id, into.member_id, clock)


def carry_over_growth(merged, into, clock=system_clock):
    from chalicelib.members import loyalty

    if merged.growth:
        loyalty.change_growth(into.member_id, merged.growth, "merge", merged.member_id, clock)


def bind_phone(member_id, phone, clock=system_clock):
    """The member who now owns this phone: the caller, or the imported member it merged into."""
    from chalicelib.db import events
    from chalicelib.members.reading import get_member, refuse_blocked

    for _ in range(ATTEMPTS):
        member = get_member(member_id)
        if member.phone == phone:
            return member
        if member.phone:
            raise DomainError("conflict", "This member already has another phone number.")
        claim = _claim_of(phone)
        try:
            if claim is None:
                _claim_for(member, phone)
                return get_member(member.member_id)
            owner = get_member(claim.member_id)
            if owner.openid == member.openid:
                return owner  # a racing request of this member has just merged them
            if owner.openid:
                raise DomainError("phone_taken",
                                  "This phone number belongs to another WeChat account.")
            refuse_blocked(owner)
            _merge(member, owner, clock.now())
            events.deliver(MEMBERS_MERGED, clock, merged=member.member_id,
                           into=owner.member_id)
            return get_member(owner.member_id)
        except TransactWriteError:
            continue  # another request changed one of these records: look again
    raise DomainError("conflict", "The phone number is being bound elsewhere; try again.")
