"""Group-buy (拼团): campaigns, the groups shoppers open and join, and their seats."""
from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute,
                                 NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta

OPEN, COMPLETED, FAILED = "OPEN", "COMPLETED", "FAILED"  # a group
HELD, PAID, LEFT = "HELD", "PAID", "LEFT"  # a member's seat in it


class GroupBuy(Model):
    """A campaign: its SKUs at the group price, the group size and how long a group has to
    fill, and what happens to a group that does not fill."""

    class Meta(TableMeta):
        table = "group-buys"

    campaign_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    items = JSONAttribute()  # [{"sku_id", "group_price_fen"}]
    stores = ListAttribute(of=UnicodeAttribute, null=True)  # None: every store
    group_size = NumberAttribute()
    fill_minutes = NumberAttribute()
    per_member_limit = NumberAttribute()  # orders a member may place in the campaign
    new_customers_only = BooleanAttribute(default=False)  # 拉新团: joiners never ordered
    auto_complete = BooleanAttribute(default=False)  # 模拟成团: an unfilled group completes
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class GroupBuyListing(Model):
    """One row per store a campaign runs in ("*" for every store), until it ends."""

    class Meta(TableMeta):
        table = "group-buy-listings"

    store_key = UnicodeAttribute(hash_key=True)
    ends_key = UnicodeAttribute(range_key=True)  # <ends at, UTC text>#<campaign id>
    campaign_id = UnicodeAttribute()


class OpenGroups(GlobalSecondaryIndex):
    """Sparse: groups still open, by campaign and store, soonest to expire first."""

    class Meta:
        index_name = "open-by-campaign-store"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)  # <campaign id>#<store id>
    expires_key = UnicodeAttribute(range_key=True)  # <expires at, UTC text>#<group id>


class GroupsByExpiryDay(GlobalSecondaryIndex):
    """Sparse: open groups by the day (UTC) they expire, for the expiry job."""

    class Meta:
        index_name = "open-by-expiry-day"
        projection = AllProjection()

    expiry_day = UnicodeAttribute(hash_key=True)
    expires_key = UnicodeAttribute(range_key=True)


class Group(Model):
    """A group: its seats are held by orders placed and counted on one item, so the seat
    count is one conditional update."""

    class Meta(TableMeta):
        table = "groups"

    group_id = UnicodeAttribute(hash_key=True)  # also the scene of its share link
    campaign_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    sku_id = UnicodeAttribute()
    leader_id = UnicodeAttribute()
    size = NumberAttribute()
    seats_taken = NumberAttribute(default=0)  # held (paying) and paid
    paid = NumberAttribute(default=0)
    status = UnicodeAttribute()  # OPEN | COMPLETED | FAILED
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires_key = UnicodeAttribute()
    open_key = UnicodeAttribute(null=True)
    expiry_day = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    open_groups = OpenGroups()
    by_expiry_day = GroupsByExpiryDay()


class GroupSeat(Model):
    class Meta(TableMeta):
        table = "group-seats"

    group_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()  # HELD | PAID | LEFT (released or refunded)
    joined_at = UTCDateTimeAttribute()
    nickname = UnicodeAttribute(null=True)
    avatar_url = UnicodeAttribute(null=True)


class GroupBuyPurchases(Model):
    """Orders one member placed in one campaign, for its per-member limit."""

    class Meta(TableMeta):
        table = "group-buy-purchases"

    key = UnicodeAttribute(hash_key=True)  # <campaign id>#<member id>
    orders = NumberAttribute(default=0)
