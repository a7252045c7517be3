from pynamodb.attributes import (NumberAttribute, UnicodeAttribute, UnicodeSetAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.db.attributes import CountAttribute
from chalicelib.db.base import Model, TableMeta


class ShareLink(Model):
    """A guide's link to their store or a product. The short scene is what the mini-program
    code carries; it resolves here to guide, store and product."""

    class Meta(TableMeta):
        table = "share-links"

    scene = UnicodeAttribute(hash_key=True)
    guide_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    product_id = UnicodeAttribute(null=True)
    page = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class BindingEvent(Model):
    """The history of a shopper's guide: bound, kept (protected), rebound, reassigned,
    released (their guide left; the store stays theirs, with no guide)."""

    class Meta(TableMeta):
        table = "binding-history"

    member_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)  # sortable by time
    action = UnicodeAttribute()
    guide_id = UnicodeAttribute(null=True)  # None once released
    previous_guide_id = UnicodeAttribute(null=True)
    scene = UnicodeAttribute(null=True)
    by = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()


class GuideMonth(Model):
    """A guide's counters of one month (Asia/Shanghai): the customers newly bound to them
    (guides/bindings.py moves it in the binding's own transaction). A month's guides are one
    partition: the brand's guide ranking reads it, a store's reads its guides' items."""

    class Meta(TableMeta):
        table = "guide-months"

    month = UnicodeAttribute(hash_key=True)  # YYYY-MM
    guide_id = UnicodeAttribute(range_key=True)
    store_id = UnicodeAttribute(null=True)  # the guide's store at their last binding
    new_bindings = CountAttribute()


class NewBinding(Model):
    """A customer newly bound to a guide in a month, written once (on condition it is not
    there), in the transaction that counts them: a customer bound to the same guide twice in
    a month (bound, won by another guide, won back) counts once that month."""

    class Meta(TableMeta):
        table = "guide-new-bindings"

    guide_month = UnicodeAttribute(hash_key=True)  # <guide id>#<YYYY-MM>
    member_id = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()


class SalesBySettleDay(GlobalSecondaryIndex):
    """Sparse: unsettled sales by the day (Asia/Shanghai) their return window ends, for the
    settlement job."""

    class Meta:
        index_name = "settle-day"
        projection = KeysOnlyProjection()

    settle_day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD#<shard>
    sale_key = UnicodeAttribute(range_key=True)


class GuideSale(Model):
    """A paid order attributed to a guide (the shopper's bound guide when they ordered, or a
    live session's host), newest last: the guide's order list reads one partition."""

    class Meta(TableMeta):
        table = "guide-sales"

    guide_id = UnicodeAttribute(hash_key=True)
    sale_key = UnicodeAttribute(range_key=True)  # <paid at, ISO UTC>#<order id>
    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    tier = NumberAttribute(default=1)  # 1: the order's guide; 2: the guide who recruited them
    paid_fen = NumberAttribute()
    commission_bp = NumberAttribute()
    commission_fen = NumberAttribute()
    refunded_fen = NumberAttribute(default=0)
    commission_reversed_fen = NumberAttribute(default=0)
    refund_ids = UnicodeSetAttribute(null=True)
    settle_day = UnicodeAttribute(null=True)  # removed once settled
    settled_at = UTCDateTimeAttribute(null=True)
    settled_fen = NumberAttribute(null=True)  # the commission paid out when settled
    by_settle_day = SalesBySettleDay()
