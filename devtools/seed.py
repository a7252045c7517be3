"""The demo brand: three Shanghai stores, four categories, a dozen products with SKUs and stock.

Ids are fixed and every item is written only if missing, so seeding twice changes nothing
and keeps whatever the demo has been used for since.
"""
from pynamodb.exceptions import PutError

from chalicelib.catalog.models import (CENTRAL_WAREHOUSE, Category, Product, Sku, Store, StoreStock, sort_key)

STORES = [
    ("store-xintiandi", "鱼塘 新天地店", "direct", "上海市黄浦区马当路 245 号", 31.2196, 121.4760),
    ("store-jingan", "鱼塘 静安寺店", "franchise", "上海市静安区南京西路 1618 号", 31.2240, 121.4468),
    ("store-lujiazui", "鱼塘 陆家嘴店", "joint", "上海市浦东新区世纪大道 8 号", 31.2397, 121.4998),
]

CATEGORIES = [("cat-tea", "茶饮", 1), ("cat-bakery", "烘焙", 2), ("cat-snacks", "零食", 3),
              ("cat-gifts", "礼盒", 4)]

# product id, category, name, [(sku suffix, specs, price in fen)]
PRODUCTS = [
    ("p-oolong", "cat-tea", "冻顶乌龙", [("250g", {"weight": "250g"}, 6800),
                                       ("500g", {"weight": "500g"}, 12800)]),
    ("p-longjing", "cat-tea", "明前龙井", [("100g", {"weight": "100g"}, 15800)]),
    ("p-puer", "cat-tea", "普洱熟茶饼", [("357g", {"weight": "357g"}, 19900)]),
    ("p-croissant", "cat-bakery", "黄油可颂", [("single", {"pack": "1 个"}, 1200),
                                           ("box6", {"pack": "6 个装"}, 6600)]),
    ("p-baguette", "cat-bakery", "法棍", [("single", {"pack": "1 根"}, 1500)]),
    ("p-mooncake", "cat-bakery", "流心奶黄月饼", [("box4", {"pack": "4 个装"}, 16800)]),
    ("p-almonds", "cat-snacks", "盐焗扁桃仁", [("200g", {"weight": "200g"}, 3900)]),
    ("p-mango", "cat-snacks", "芒果干", [("100g", {"weight": "100g"}, 2500),
                                      ("300g", {"weight": "300g"}, 6500)]),
    ("p-seaweed", "cat-snacks", "海苔脆", [("original", {"flavour": "原味"}, 1800),
                                       ("spicy", {"flavour": "香辣"}, 1800)]),
    ("p-tea-gift", "cat-gifts", "四季茶礼盒", [("standard", {"size": "标准"}, 39900)]),
    ("p-cup", "cat-gifts", "青瓷茶杯", [("white", {"colour": "月白"}, 8800),
                                     ("green", {"colour": "豆青"}, 8800)]),
    ("p-snack-gift", "cat-gifts", "年货零食礼盒", [("large", {"size": "大"}, 25900)]),
]


# Products on the cloud shelf (云货架): sold in every store, from the central warehouse where
# a store has none. The snack gift box is kept only in the warehouse.
CLOUD_SHELF = {"p-tea-gift": 60, "p-mooncake": 80, "p-snack-gift": 40}
WAREHOUSE_ONLY = {"p-snack-gift"}
# The franchise store prices its single croissant its own way.
STORE_PRICES = {("store-jingan", "p-croissant-single"): 1100}


def _put_if_missing(item, *conditions):
    """Writes the item unless it exists; `conditions` name items of an older demo to upgrade."""
    condition = type(item)._hash_key_attribute().does_not_exist()
    for also in conditions:
        condition = condition | also
    try:
        item.save(condition=condition)
        return 1
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return 0
        raise


def seed_demo_brand():
    """Writes what is missing; returns how many items it wrote."""
    written = 0
    for store_id, name, ownership, address, lat, lng in STORES:
        store = Store(store_id, name=name, ownership=ownership, city="上海", address=address,
                      opening_hours="09:00-22:00", delivery_radius_m=5000)
        store.locate(lat, lng)
        written += _put_if_missing(store)
    for category_id, name, sort_order in CATEGORIES:
        written += _put_if_missing(
            Category(category_id, name=name, sort_order=sort_order,
                     sort_key=sort_key(sort_order, category_id)),
            Category.sort_key.does_not_exist())
    for index, (product_id, category_id, name, skus) in enumerate(PRODUCTS):
        sku_ids = [f"{product_id}-{suffix}" for suffix, _, _ in skus]
        product = Product(product_id, category_id=category_id, name=name, sort_order=index,
                          sku_ids=sku_ids, cloud_shelf=product_id in CLOUD_SHELF,
                          image_urls=[f"https://img.yutang.example/{product_id}.jpg"])
        product.place()
        written += _put_if_missing(product, Product.sort_key.does_not_exist())
        for sku_id, (_, specs, price_fen) in zip(sku_ids, skus):
            written += _put_if_missing(
                Sku(sku_id, product_id=product_id, specs=specs, base_price_fen=price_fen))
            for store_number, (store_id, *_) in enumerate(STORES):
                quantity = 0 if product_id in WAREHOUSE_ONLY else \
                    10 + (index * 7 + store_number * 13) % 40
                written += _put_if_missing(StoreStock(
                    store_id, sku_id, quantity=quantity,
                    price_fen=STORE_PRICES.get((store_id, sku_id))))
            if product_id in CLOUD_SHELF:
                written += _put_if_missing(StoreStock(CENTRAL_WAREHOUSE, sku_id,
                                                      quantity=CLOUD_SHELF[product_id]))
    return written
