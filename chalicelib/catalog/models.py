"""Stores, categories, products, SKUs and per-store stock. Prices are integer fen."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute,
                                 NumberAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.db.base import TableMeta

OWNERSHIP_TYPES = ("direct", "franchise", "joint")  # 直营 / 加盟 / 联营


class StoresInFineCell(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-cell5"
        projection = AllProjection()

    cell5 = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute(range_key=True)


class StoresInWideCell(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-cell4"
        projection = AllProjection()

    cell4 = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute(range_key=True)


class Store(Model):
    """A store, indexed by the geohash cells of its location (about 5 km and 20-40 km)."""

    class Meta(TableMeta):
        table = "stores"

    store_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    ownership = UnicodeAttribute()
    city = UnicodeAttribute()
    address = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    cell5 = UnicodeAttribute()
    cell4 = UnicodeAttribute()
    opening_hours = UnicodeAttribute()  # HH:MM-HH:MM, Asia/Shanghai; may run past midnight
    offers_pickup = BooleanAttribute(default=True)
    delivery_radius_m = NumberAttribute(default=0)
    status = UnicodeAttribute(default="active")  # active | closed (for good)
    by_cell5 = StoresInFineCell()
    by_cell4 = StoresInWideCell()

    def locate(self, lat, lng):
        from chalicelib.catalog import geo

        self.lat, self.lng = lat, lng
        self.cell5, self.cell4 = geo.encode(lat, lng, 5), geo.encode(lat, lng, 4)


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


class StockMovement(Model):
    """The audit trail of one store's stock of one SKU: who changed it, when, by how much, why."""

    class Meta(TableMeta):
        table = "stock-movements"

    store_sku = UnicodeAttribute(hash_key=True)  # <store_id>#<sku_id>
    movement_id = UnicodeAttribute(range_key=True)  # sortable by time
    delta = NumberAttribute()
    reason = UnicodeAttribute()
    by = UnicodeAttribute()
    at = UnicodeAttribute()  # ISO time, UTC
