"""Brand settings: configuration documents and job cursors, one item each."""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.db.base import TableMeta


class BrandSetting(Model):
    """Per-brand configuration documents (the loyalty program, …), as JSON, and brand-wide
    counters."""

    class Meta(TableMeta):
        table = "brand-settings"

    key = UnicodeAttribute(hash_key=True)
    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute(null=True)
    counter = NumberAttribute(null=True)  # a count kept by conditional adds (the brand's admins)
