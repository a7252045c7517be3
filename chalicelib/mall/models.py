"""Carts: what a member is about to buy in a store."""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.db.base import Model, TableMeta


class CartLine(Model):
    """One SKU in a member's cart at one store; the cart outlives sessions."""

    class Meta(TableMeta):
        table = "cart-lines"

    cart_key = UnicodeAttribute(hash_key=True)  # <member_id>#<store_id>
    sku_id = UnicodeAttribute(range_key=True)
    quantity = NumberAttribute()
    added_at = UTCDateTimeAttribute()
