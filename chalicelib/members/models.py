from pynamodb.attributes import (NumberAttribute, TTLAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.db.base import Model, TableMeta


class MembersByGuide(GlobalSecondaryIndex):
    """Sparse: a guide's customers (members bound to them). Keys only, so a bound member's
    points, growth and counters change without rewriting the index."""

    class Meta:
        index_name = "guide-members"
        projection = KeysOnlyProjection()

    guide_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class Member(Model):
    """One person in the brand's pond, however many ways they sign in.

    A WeChat member who binds the phone of an imported member is merged into it: the
    imported record takes the openid, and the WeChat-only record points at it.
    """

    class Meta(TableMeta):
        table = "members"

    member_id = UnicodeAttribute(hash_key=True)
    openid = UnicodeAttribute(null=True)
    unionid = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    nickname = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)
    source = UnicodeAttribute(default="wechat")  # wechat | import
    home_store_id = UnicodeAttribute(null=True)  # the store the member belongs to
    current_store_id = UnicodeAttribute(null=True)  # the store the shopper is buying from
    guide_id = UnicodeAttribute(null=True)
    guide_served_at = UTCDateTimeAttribute(null=True)  # start of the binding's protection
    created_at = UTCDateTimeAttribute()
    joined_at = UTCDateTimeAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)
    merged_from = UnicodeSetAttribute(null=True)  # the WeChat-only records merged into this one
    blocked_at = UTCDateTimeAttribute(null=True)  # an admin blocked them: no sign-in, no session
    blocked_by = UnicodeAttribute(null=True)
    points_balance = NumberAttribute(default=0)
    points_debt = NumberAttribute(default=0)  # taken back but not there: paid by the next credits
    points_seq = NumberAttribute(default=0)
    points_spent_total = NumberAttribute(default=0)  # every debit but expiry
    points_expired_total = NumberAttribute(default=0)
    growth = NumberAttribute(default=0)
    assigned_level = UnicodeAttribute(null=True)  # a level the member holds whatever growth says
    level = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    orders_count = NumberAttribute(default=0)
    paid_total_fen = NumberAttribute(default=0)
    last_order_at = UTCDateTimeAttribute(null=True)
    first_paid_at = UTCDateTimeAttribute(null=True)  # their first paid order: its cohort
    by_guide = MembersByGuide()


class WeChatIdentity(Model):
    """openid -> member. Created once per openid (conditionally), so one openid is one member.
    WeChat's session_key is not kept (a login removes one an older version stored)."""

    class Meta(TableMeta):
        table = "wechat-identities"

    openid = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    unionid = UnicodeAttribute(null=True)
    last_login_at = UTCDateTimeAttribute()


class SessionFamily(Model):
    """One sign-in and the tokens that descend from it, kept under the member who signed in,
    so that a member's sessions are one consistent Query.

    A refresh token names the family's generation; a refresh moves the generation on, which
    makes the refresh token before it stale, and a stale one presented again ends the family
    (someone holds a copy). Access tokens work while their family has not ended. `acts_for`
    is whom its tokens act for: the member, or the member a phone merge made of them.
    """

    class Meta(TableMeta):
        table = "sessions"

    member_id = UnicodeAttribute(hash_key=True)
    family_id = UnicodeAttribute(range_key=True)
    acts_for = UnicodeAttribute()
    generation = NumberAttribute()
    started_at = UTCDateTimeAttribute()
    ended = UnicodeAttribute(null=True)  # logout | reuse | blocked
    expires_at = TTLAttribute()  # when its latest refresh token expires


class PhoneClaim(Model):
    """phone -> member: one phone number belongs to at most one member."""

    class Meta(TableMeta):
        table = "member-phones"

    phone = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()


class CreditsByExpiryDay(GlobalSecondaryIndex):
    """Sparse: only credits carry an expiry day. The expiry job reads the days it covers."""

    class Meta:
        index_name = "by-expiry-day"
        projection = AllProjection()

    expiry_day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD (UTC)#<shard>
    member_id = UnicodeAttribute(range_key=True)


class PointsEntry(Model):
    """One line of a member's append-only points ledger, numbered, with the balance after it."""

    class Meta(TableMeta):
        table = "points-ledger"

    member_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    delta = NumberAttribute()  # what the member holds (balance less debt) changes by
    balance_after = NumberAttribute()
    debt_change = NumberAttribute(default=0)  # a credit paying debt (-), a clawback owed (+)
    debt_after = NumberAttribute(default=0)
    source = UnicodeAttribute()  # order | refund | admin | import | expiry | merge | …
    source_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)  # credits only
    expiry_day = UnicodeAttribute(null=True)  # credits only, YYYY-MM-DD (UTC)#<shard>
    note = UnicodeAttribute(null=True)
    by_expiry_day = CreditsByExpiryDay()


class AppliedChange(Model):
    """Marks that a source (an order, a refund, an import row…) changed a member's points or
    growth, written in the same transaction as the change: a source never applies twice."""

    class Meta(TableMeta):
        table = "applied-changes"

    key = UnicodeAttribute(hash_key=True)  # <ledger>#<member>#<source>#<source id>
    member_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    outcome = NumberAttribute(null=True)  # what the change came to (points added or taken)


class StoreStaffIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-store"
        projection = AllProjection()

    store_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class Staff(Model):
    """A member who works for the brand: admin (brand-wide), or a store's manager, clerk or
    guide (one store)."""

    class Meta(TableMeta):
        table = "staff"

    member_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    invited_by = UnicodeAttribute(null=True)
    joined_at = UTCDateTimeAttribute()
    # Set when the role ends; the record stays so that a former guide of the store is known
    # (their customers can still be handed over), but it grants nothing.
    ended_at = UTCDateTimeAttribute(null=True)
    by_store = StoreStaffIndex()


class StaffInvite(Model):
    """A one-time code a brand admin hands to a new staff member."""

    class Meta(TableMeta):
        table = "staff-invites"

    code = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    store_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    claimed_by = UnicodeAttribute(null=True)


class TagMember(Model):
    """Segment index: one item per (tag, scope, member). scope is "*" for the whole brand and
    a store id for that store, so a segment is one Query on its smallest tag."""

    class Meta(TableMeta):
        table = "member-tags"

    tag_scope = UnicodeAttribute(hash_key=True)  # <tag>@<scope>
    member_id = UnicodeAttribute(range_key=True)
    tagged_at = UTCDateTimeAttribute()


class ActivityDay(Model):
    """Members by the day of their last order: the computed-tags job reads only the days that
    cross a boundary today (30 days ago, 90 days ago), never the whole membership."""

    class Meta(TableMeta):
        table = "member-activity"

    day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD, Asia/Shanghai
    member_id = UnicodeAttribute(range_key=True)
