"""Stores, categories, products, SKUs and per-store stock. Prices are integer fen."""
from pynamodb.attributes import (ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute)
from pynamodb.models import Model

from chalicelib.db.base import TableMeta

OWNERSHIP_TYPES = ("direct", "franchise", "joint")  # 直营 / 加盟 / 联营


class Store(Model):
    class Meta(TableMeta):
        table = "stores"

    store_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    ownership = UnicodeAttribute()
    city = UnicodeAttribute()
    address = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    opening_hours = UnicodeAttribute()
    offers_pickup = NumberAttribute(default=1)
    delivery_radius_m = NumberAttribute(default=0)


class Category(Model):
    class Meta(TableMeta):
        table = "categories"

    category_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    sort_order = NumberAttribute(default=0)


class Product(Model):
    class Meta(TableMeta):
        table = "products"

    product_id = UnicodeAttribute(hash_key=True)
    category_id = UnicodeAttribute()
    name = UnicodeAttribute()
    image_urls = ListAttribute(of=UnicodeAttribute, default=list)


class Sku(Model):
    class Meta(TableMeta):
        table = "skus"

    sku_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute()
    specs = MapAttribute(default=dict)
    base_price_fen = NumberAttribute()


class StoreStock(Model):
    """Units of one SKU on hand in one store."""

    class Meta(TableMeta):
        table = "store-stock"

    store_id = UnicodeAttribute(hash_key=True)
    sku_id = UnicodeAttribute(range_key=True)
    quantity = NumberAttribute()
