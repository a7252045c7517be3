"""Session families: each sign-in starts one, and its tokens act for a member until it ends.

- The door (core/routing) reads the family an access token names: one consistent GetItem per
  request. An ended family (signed out, a refresh token reused, the member blocked) is
  refused; otherwise the request acts for the family's `acts_for`, which a phone merge moves
  to the merged member.
- A refresh moves the family's generation on by a write conditioned on the generation it read,
  so of two refreshes presenting one token only one wins; the other, like any stale refresh
  token presented later, ends the family and every token in it.
- A family is started in the same transaction as a check that its member exists, is not
  blocked and was not merged away. Blocking marks the member first and then ends the families
  a consistent Query finds, so a sign-in racing a block either fails or is ended by it.
"""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib.config import settings
from chalicelib.core import logs, tokens
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import transaction
from chalicelib.errors import DomainError
from chalicelib.members.models import Member, SessionFamily

LOGOUT, REUSE, BLOCKED = "logout", "reuse", "blocked"


def _ended():
    return DomainError("unauthorized", "This session has ended; sign in again.")


def _expiry(now):
    return now + timedelta(seconds=settings.refresh_token_ttl_s)


def start_in(writes, member_id, clock=system_clock, new_member=False):
    """Adds a new family of the member to `writes` (named session_family), on condition that
    the member exists, is not blocked and was not merged away (member_active; unless `writes`
    creates the member). Returns the tokens to hand out once the writes land."""
    now = clock.now()
    if not new_member:
        writes.condition_check(Member, member_id, condition=Member.member_id.exists()
                               & Member.blocked_at.does_not_exist()
                               & Member.merged_into.does_not_exist(), name="member_active")
    family = SessionFamily(member_id, new_id("sf"), acts_for=member_id, generation=1,
                           started_at=now, expires_at=_expiry(now))
    writes.save(family, condition=SessionFamily.family_id.does_not_exist(),
                name="session_family")
    return tokens.session_tokens(member_id, family.family_id, family.generation, clock)


def start(member_id, clock=system_clock):
    """A new session of an existing member: its tokens."""
    try:
        with transaction() as writes:
            session = start_in(writes, member_id, clock)
    except TransactWriteError:
        raise DomainError("conflict", "The account changed meanwhile; sign in again.") from None
    return session


def family_of(claims):
    """The family a token's claims name, read consistently; None when there is none (a token
    from before sessions had families, or a family DynamoDB removed after it expired)."""
    family_id = claims.get("fam")
    if not isinstance(family_id, str) or not family_id:
        return None
    try:
        return SessionFamily.get(claims["sub"], family_id, consistent_read=True)
    except DoesNotExist:
        return None


def acting_member(access_token, clock=system_clock):
    """The door: the member a genuine access token of a live session acts for."""
    family = family_of(tokens.verify(access_token, tokens.ACCESS, clock))
    if family is None or family.ended:
        raise _ended()
    return family.acts_for


def _condition_failed(error):
    return error.cause_response_code == "ConditionalCheckFailedException"


def _end(member_id, family_id, reason):
    try:
        SessionFamily(member_id, family_id).update(
            actions=[SessionFamily.ended.set(reason)],
            condition=SessionFamily.family_id.exists() & SessionFamily.ended.does_not_exist())
    except UpdateError as error:
        if not _condition_failed(error):
            raise  # else: it had ended already, or expired


def rotate(family, claims, acts_for=None, clock=system_clock):
    """The family's next tokens, if `claims` are of its current generation and nobody moved it
    on since `family` was read. Otherwise a copy of the refresh token is in other hands: the
    family ends, and DomainError."""
    if family.ended:
        raise _ended()
    generation = claims.get("gen")
    if generation == family.generation:
        try:
            family.update(actions=[SessionFamily.generation.set(generation + 1),
                                   SessionFamily.acts_for.set(acts_for or family.acts_for),
                                   SessionFamily.expires_at.set(_expiry(clock.now()))],
                          condition=(SessionFamily.generation == generation)
                          & SessionFamily.ended.does_not_exist())
            return tokens.session_tokens(family.member_id, family.family_id, generation + 1,
                                         clock)
        except UpdateError as error:
            if not _condition_failed(error):
                raise
    logs.warning("refresh_token_reused", member_id=family.member_id,
                 family_id=family.family_id)
    _end(family.member_id, family.family_id, REUSE)
    raise _ended()


def refresh(refresh_token, clock=system_clock):
    """(the member, new tokens) for the refresh token of a live family's current generation."""
    from chalicelib.members.reading import get_member, refuse_blocked

    claims = tokens.verify(refresh_token, tokens.REFRESH, clock)
    family = family_of(claims)
    if family is None:
        raise _ended()
    member = get_member(family.acts_for)
    refuse_blocked(member)
    return member, rotate(family, claims, member.member_id, clock)


def sign_out(access_token, clock=system_clock):
    claims = tokens.verify(access_token, tokens.ACCESS, clock)
    _end(claims["sub"], claims["fam"], LOGOUT)


def _families(member_id, condition):
    return SessionFamily.query(member_id, consistent_read=True, filter_condition=condition)


def end_all(member, reason):
    """Ends every session acting for the member: its own, and those of the records merged
    into it."""
    for member_id in [member.member_id, *sorted(member.merged_from or ())]:
        for family in _families(member_id, SessionFamily.ended.does_not_exist()):
            _end(family.member_id, family.family_id, reason)


def follow_merge(merged_id, into_id):
    """The sessions of a member merged into another act for that one from now on."""
    for family in _families(merged_id, SessionFamily.acts_for != into_id):
        family.update(actions=[SessionFamily.acts_for.set(into_id)],
                      condition=SessionFamily.family_id.exists())
