"""Reading a member: the one way, merge-aware.

A module of its own so that code which only reads members, such as the notification sender's
job, reaches the members table and nothing else of members' (its role follows its imports).
"""
from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import DomainError
from chalicelib.members.models import Member


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


def refuse_blocked(member):
    if member.blocked_at:
        raise DomainError("member_blocked", "This account is blocked; ask the brand why.")
