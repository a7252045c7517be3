"""Stores, categories, products, SKUs and per-store stock. Prices are integer fen."""
from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute,
                                 NumberAttribute, UnicodeAttribute)
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta


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
    ownership = UnicodeAttribute()  # direct (直营) | franchise (加盟) | joint (联营)
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

        # To 6 decimals (about 0.1 m): DynamoDB keeps no number nearer zero than 1e-130, and
        # JSON gives 5e-324. + 0.0 turns -0.0 into 0.0.
        lat, lng = round(lat, 6) + 0.0, round(lng, 6) + 0.0
        self.lat, self.lng = lat, lng
        self.cell5, self.cell4 = geo.encode(lat, lng, 5), geo.encode(lat, lng, 4)


CENTRAL_WAREHOUSE = "central-warehouse"  # the store id the cloud shelf's stock is kept under
CATALOG = "catalog"


def sort_key(sort_order, item_id):
    """Orders a list by the position ops gave, then by id."""
    return f"{sort_order:05d}#{item_id}"


class CategoriesInOrder(GlobalSecondaryIndex):
    class Meta:
        index_name = "in-order"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class Category(Model):
    """A category of the brand's catalog. All categories share one index partition: a brand
    has tens of them, and the mini-program's menu reads them in one Query."""

    class Meta(TableMeta):
        table = "categories"

    category_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    sort_order = NumberAttribute(default=0)
    listing = UnicodeAttribute(default=CATALOG)
    sort_key = UnicodeAttribute()
    in_order = CategoriesInOrder()


class ProductsOnShelf(GlobalSecondaryIndex):
    """Products on sale, by category in display order. Sparse: a product taken off sale has
    no shelf_category and drops out of the index."""

    class Meta:
        index_name = "on-shelf"
        projection = AllProjection()

    shelf_category = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)


class Product(Model):
    class Meta(TableMeta):
        table = "products"

    product_id = UnicodeAttribute(hash_key=True)
    category_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    image_urls = ListAttribute(of=UnicodeAttribute, default=list)
    sku_ids = ListAttribute(of=UnicodeAttribute, default=list)
    sort_order = NumberAttribute(default=0)
    sort_key = UnicodeAttribute()
    on_sale = BooleanAttribute(default=True)
    shelf_category = UnicodeAttribute(null=True)
    # Sold in every store's mini-program, from the central warehouse where a store has none.
    cloud_shelf = BooleanAttribute(default=False)
    on_shelf = ProductsOnShelf()

    def place(self):
        """Keeps the index keys in step with category, order and whether it is on sale."""
        self.sort_key = sort_key(self.sort_order, self.product_id)
        self.shelf_category = self.category_id if self.on_sale else None


class Sku(Model):
    class Meta(TableMeta):
        table = "skus"

    sku_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute()
    specs = MapAttribute(default=dict)
    base_price_fen = NumberAttribute()


class StoreStock(Model):
    """One SKU in one store: units on hand and, where the store has its own, its price."""

    class Meta(TableMeta):
        table = "store-stock"
        # Its changes show each order's take (last_take), for orders/takes.py to check.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    store_id = UnicodeAttribute(hash_key=True)
    sku_id = UnicodeAttribute(range_key=True)
    quantity = NumberAttribute(default=0)
    last_take = UnicodeAttribute(null=True)  # the last order's take: <order>#<attempt>#<units>
    price_fen = NumberAttribute(null=True)
    price_set_by = UnicodeAttribute(null=True)
    price_set_at = UnicodeAttribute(null=True)


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
