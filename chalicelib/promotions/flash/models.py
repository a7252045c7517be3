"""Flash sales (秒杀): the sale (its stock is hot stock, see hotstock.py), what each member
bought, and reminders."""
from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute,
                                 NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta


class SalesByNextStep(GlobalSecondaryIndex):
    """Sparse: sales with something for the window job to do, by the day (UTC) it is due, so
    the job reads only the sales it acts on."""

    class Meta:
        index_name = "by-next-step"
        projection = AllProjection()

    next_step_day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD
    next_step_key = UnicodeAttribute(range_key=True)  # <due, UTC text>#<sale id>


class FlashSale(Model):
    class Meta(TableMeta):
        table = "flash-sales"

    sale_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    items = JSONAttribute()  # [{"sku_id", "flash_price_fen", "quantity"}]
    stores = ListAttribute(of=UnicodeAttribute, null=True)  # None: every store
    stock_from = UnicodeAttribute()  # the one store's stock, or the central warehouse
    per_member_limit = NumberAttribute()
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    reminders = BooleanAttribute(default=False)
    shard_count = NumberAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    stocked = JSONAttribute(null=True)  # {sku_id: units moved into the sale}, once moved
    reminded_at = UTCDateTimeAttribute(null=True)
    ended_early_at = UTCDateTimeAttribute(null=True)
    returned = JSONAttribute(null=True)  # {sku_id: units given back}, once the sale is over
    next_step_day = UnicodeAttribute(null=True)
    next_step_key = UnicodeAttribute(null=True)
    by_next_step = SalesByNextStep()

    @property
    def closes_at(self):
        return min(self.ends_at, self.ended_early_at or self.ends_at)


class FlashPurchases(Model):
    """Units one member holds in one sale, for the per-member limit."""

    class Meta(TableMeta):
        table = "flash-purchases"

    key = UnicodeAttribute(hash_key=True)  # <sale_id>#<member_id>
    units = NumberAttribute(default=0)


class FlashReminder(Model):
    class Meta(TableMeta):
        table = "flash-reminders"

    sale_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    openid = UnicodeAttribute()
    asked_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    errcode = NumberAttribute(null=True)
