from pynamodb.attributes import BinaryAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.db.base import TableMeta


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
    code_png = BinaryAttribute(null=True, legacy_encoding=False)  # fetched from WeChat once


class BindingEvent(Model):
    """The history of a shopper's guide: bound, kept (protected), rebound, reassigned."""

    class Meta(TableMeta):
        table = "binding-history"

    member_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)  # sortable by time
    action = UnicodeAttribute()
    guide_id = UnicodeAttribute()
    previous_guide_id = UnicodeAttribute(null=True)
    scene = UnicodeAttribute(null=True)
    by = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
