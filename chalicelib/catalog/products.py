"""The catalog: what ops set up (categories, products, SKUs, store prices) and what a shopper
sees of it in one store: the store's price, their member price, and where each SKU ships from.

A SKU a store has on hand ships from the store. A product on the cloud shelf (云货架) is
also sold where the store has none, fulfilled from the central warehouse. Anything else the
store has not got is sold out there.
"""
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import size

from chalicelib.catalog.models import (CATALOG, CENTRAL_WAREHOUSE, Category, Product, Sku,
                                       StoreStock, sort_key)
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.orders import pricing

MAX_SKUS = 20
PRODUCT_FIELDS = ("category_id", "name", "description", "image_urls", "sort_order", "on_sale",
                  "cloud_shelf")


# --- categories ---------------------------------------------------------------------------

def category_view(category):
    return {"category_id": category.category_id, "name": category.name,
            "sort_order": category.sort_order}


def categories():
    return [category_view(c) for c in Category.in_order.query(CATALOG)]


def _get_category(category_id):
    try:
        return Category.get(category_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No category {category_id}.") from None


def save_category(data, category_id=None):
    """Creates a category (no id given) or changes one."""
    if category_id is None:
        category = Category(data.get("category_id") or new_id("cat"))
        condition = Category.category_id.does_not_exist()
    else:
        category = _get_category(category_id)
        condition = Category.category_id.exists()
    category.name = data.get("name", category.name)
    category.sort_order = data.get("sort_order", category.sort_order)
    category.sort_key = sort_key(category.sort_order, category.category_id)
    try:
        category.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise DomainError("conflict", f"Category {category.category_id} exists already.") \
                from None
        raise
    return category_view(category)


# --- products and SKUs --------------------------------------------------------------------

def get_product(product_id):
    try:
        return Product.get(product_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No product {product_id}.") from None


def _refused(error, refusals):
    """The answer for the first item (refusals: {item name: (code, message)}, in the order
    added) whose condition failed in a cancelled transaction."""
    cancelled = Cancellation.of(error)
    failed = next((name for name in refusals if cancelled.failed(name)), None)
    if failed is None:
        raise error
    raise DomainError(*refusals[failed]) from None


def _product_admin_view(product, skus):
    return {"product_id": product.product_id, "category_id": product.category_id,
            "name": product.name, "description": product.description,
            "image_urls": list(product.image_urls), "sort_order": product.sort_order,
            "on_sale": product.on_sale, "cloud_shelf": product.cloud_shelf,
            "skus": [_sku_admin_view(sku) for sku in skus]}


def _sku_admin_view(sku):
    return {"sku_id": sku.sku_id, "specs": sku.specs.as_dict(),
            "base_price_fen": sku.base_price_fen}


def _new_sku(product_id, data):
    return Sku(data.get("sku_id") or new_id("sku"), product_id=product_id,
               specs=data.get("specs", {}), base_price_fen=data["base_price_fen"])


def create_product(data):
    """The product and its SKUs land together, in a category that exists, or not at all."""
    product = Product(data.get("product_id") or new_id("p"),
                      **{key: data[key] for key in PRODUCT_FIELDS if key in data})
    skus = [_new_sku(product.product_id, sku) for sku in data["skus"]]
    if len({sku.sku_id for sku in skus}) != len(skus):
        raise DomainError("validation_error", "Each SKU needs its own sku_id.")
    product.sku_ids = [sku.sku_id for sku in skus]
    product.place()
    try:
        with transaction() as writes:
            writes.condition_check(Category, product.category_id,
                                   condition=Category.category_id.exists(), name="category")
            writes.save(product, condition=Product.product_id.does_not_exist(), name="product")
            for sku in skus:
                writes.save(sku, condition=Sku.sku_id.does_not_exist(), name=f"sku#{sku.sku_id}")
    except TransactWriteError as error:
        _refused(error, {"category": ("not_found", f"No category {product.category_id}."),
                         "product": ("conflict", f"Product {product.product_id} exists already."),
                         **{f"sku#{sku.sku_id}": ("conflict", f"SKU {sku.sku_id} exists already.")
                            for sku in skus}})
    return _product_admin_view(product, skus)


def update_product(product_id, data):
    product = get_product(product_id)
    if "category_id" in data:
        _get_category(data["category_id"])
    for key in PRODUCT_FIELDS:
        if key in data:
            setattr(product, key, data[key])
    product.place()
    product.save(condition=Product.product_id.exists())
    return _product_admin_view(product, _skus_of(product))


def add_sku(product_id, data):
    sku = _new_sku(product_id, data)
    try:
        with transaction() as writes:
            writes.update(Product(product_id),
                          actions=[Product.sku_ids.set(Product.sku_ids.append([sku.sku_id]))],
                          condition=Product.product_id.exists()
                          & (size(Product.sku_ids) < MAX_SKUS), name="product")
            writes.save(sku, condition=Sku.sku_id.does_not_exist(), name="sku")
    except TransactWriteError as error:
        _refused(error, {"product": ("not_found", f"No product {product_id}, or it has "
                                                  f"{MAX_SKUS} SKUs already."),
                         "sku": ("conflict", f"SKU {sku.sku_id} exists already.")})
    return _sku_admin_view(sku)


def update_sku(sku_id, data):
    try:
        sku = Sku.get(sku_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No SKU {sku_id}.") from None
    sku.specs = data.get("specs", sku.specs)
    sku.base_price_fen = data.get("base_price_fen", sku.base_price_fen)
    sku.save(condition=Sku.sku_id.exists())
    return _sku_admin_view(sku)


def _skus_of(product):
    found = {sku.sku_id: sku for sku in Sku.batch_get(product.sku_ids)}
    return [found[sku_id] for sku_id in product.sku_ids if sku_id in found]


def base_prices(sku_ids):
    """The brand's price of each SKU that exists (one BatchGet): {sku_id: base_price_fen}."""
    return {sku.sku_id: sku.base_price_fen for sku in Sku.batch_get(sku_ids)}


def _line_of(sku, product):
    return {"sku_id": sku.sku_id, "product_id": product.product_id, "name": product.name,
            "specs": sku.specs.as_dict()}


def sku_line(sku_id):
    """What an order line says of a SKU (its product and name, its specs), read by key."""
    sku = Sku.get(sku_id)
    return _line_of(sku, Product.get(sku.product_id))


def sku_lines(sku_ids):
    """sku_line for several SKUs, in two BatchGets: {sku_id: line} for those whose product
    exists."""
    skus = {sku.sku_id: sku for sku in Sku.batch_get(sku_ids)}
    products = {product.product_id: product for product in Product.batch_get(
        list({sku.product_id for sku in skus.values()}))}
    return {sku_id: _line_of(sku, products[sku.product_id]) for sku_id, sku in skus.items()
            if sku.product_id in products}


# --- store prices -------------------------------------------------------------------------

def check_pricing_rights(role, store):
    """Whether a staff role may sell in the store away from the brand's price (a price of its
    own, a promotion below the brand's): brand admins anywhere, the managers of franchise and
    joint stores. A direct (直营) store sells at the brand's price."""
    if role != "admin" and store.ownership == "direct":
        raise DomainError("brand_priced", "A direct store sells at the brand's price; ask "
                                          "the brand to change it.")


def set_store_price(store, sku_id, price_fen, staff, clock=system_clock):
    """A store's own price for a SKU (None: back to the brand's price). A direct store sells
    at the brand's price unless the brand sets another; franchise and joint stores' managers
    may price for their store."""
    check_pricing_rights(staff.role, store)
    try:
        Sku.get(sku_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No SKU {sku_id}.") from None
    if price_fen is None:
        actions = [StoreStock.price_fen.remove()]
    else:
        actions = [StoreStock.price_fen.set(price_fen)]
    actions += [StoreStock.price_set_by.set(staff.member_id),
                StoreStock.price_set_at.set(clock.now().isoformat()),
                StoreStock.quantity.set(StoreStock.quantity | 0)]
    StoreStock(store.store_id, sku_id).update(actions=actions)
    return {"store_id": store.store_id, "sku_id": sku_id, "price_fen": price_fen}


# --- what a shopper sees in a store -------------------------------------------------------

def _on_hand(store_id, sku_ids, with_warehouse):
    """Each SKU's stock item in the store, and in the central warehouse when asked."""
    stores = (store_id, CENTRAL_WAREHOUSE) if with_warehouse else (store_id,)
    keys = [(place, sku_id) for sku_id in sku_ids for place in stores]
    return {(item.store_id, item.sku_id): item for item in StoreStock.batch_get(keys)}


def _offer(product, sku, store_id, on_hand, level):
    """One SKU as sold in one store: its price there, the caller's price, where it ships from."""
    here = on_hand.get((store_id, sku.sku_id))
    price = here.price_fen if here and here.price_fen is not None else sku.base_price_fen
    in_store = here.quantity if here else 0
    warehouse = on_hand.get((CENTRAL_WAREHOUSE, sku.sku_id))
    if in_store > 0:
        fulfilment, available = "store", in_store
    elif product.cloud_shelf and warehouse and warehouse.quantity > 0:
        fulfilment, available = "cloud_shelf", warehouse.quantity
    else:
        fulfilment, available = "sold_out", 0
    return {"sku_id": sku.sku_id, "specs": sku.specs.as_dict(), "base_price_fen": sku.base_price_fen,
            "price_fen": price,
            "member_price_fen": pricing.member_price(price, level) if level else price,
            "store_stock": in_store, "available": available, "fulfilment": fulfilment}


def _best(offers):
    """What a list shows for a product: the lowest price among SKUs one can buy (or among all
    when none can be bought), shipped from the store when any SKU is on hand there."""
    buyable = [offer for offer in offers if offer["fulfilment"] != "sold_out"] or offers
    cheapest = min(buyable, key=lambda offer: offer["member_price_fen"])
    fulfilments = {offer["fulfilment"] for offer in offers}
    fulfilment = next(f for f in ("store", "cloud_shelf", "sold_out") if f in fulfilments)
    return {"price_fen": cheapest["price_fen"],
            "member_price_fen": cheapest["member_price_fen"], "fulfilment": fulfilment}


def offers(store_id, sku_ids, level=None):
    """What checkout needs of each SKU in the store: product, SKU and its offer there (price,
    stock, fulfilment). SKUs unknown or off sale are left out."""
    skus = {sku.sku_id: sku for sku in Sku.batch_get(sku_ids)}
    products = {product.product_id: product for product in
                Product.batch_get({sku.product_id for sku in skus.values()})}
    on_hand = _on_hand(store_id, list(skus), any(p.cloud_shelf for p in products.values()))
    found = {}
    for sku_id, sku in skus.items():
        product = products.get(sku.product_id)
        if product is not None and product.on_sale:
            found[sku_id] = (product, sku, _offer(product, sku, store_id, on_hand, level))
    return found


def _level_view(level):
    return {"code": level["code"], "name": level["name"]} if level else None


def shelf(store_id, category_id, level, limit, cursor):
    """A page of a category's products on sale, as sold in the store. Cost: one Query for the
    page and one BatchGet of the page's SKUs, another of their stock, whatever the catalog's
    size."""
    from chalicelib.core.pagination import query_page

    listed = query_page(Product.on_shelf, category_id, lambda product: product, "products",
                        limit=limit, cursor=cursor)
    sku_ids = [sku_id for product in listed["products"] for sku_id in product.sku_ids]
    skus = {sku.sku_id: sku for sku in Sku.batch_get(sku_ids)} if sku_ids else {}
    any_cloud = any(product.cloud_shelf for product in listed["products"])
    on_hand = _on_hand(store_id, sku_ids, any_cloud) if sku_ids else {}

    def view(product):
        offers = [_offer(product, skus[sku_id], store_id, on_hand, level)
                  for sku_id in product.sku_ids if sku_id in skus]
        return {"product_id": product.product_id, "name": product.name,
                "image_url": product.image_urls[0] if product.image_urls else None,
                "cloud_shelf": product.cloud_shelf,
                **(_best(offers) if offers else {"price_fen": None, "member_price_fen": None,
                                                 "fulfilment": "sold_out"})}

    return {"store_id": store_id, "category_id": category_id,
            "member_level": _level_view(level),
            "products": [view(product) for product in listed["products"]],
            "next_cursor": listed["next_cursor"]}


def detail(store_id, product_id, level):
    """A product as sold in the store, SKU by SKU. A product taken off sale is not found."""
    product = get_product(product_id)
    if not product.on_sale:
        raise DomainError("not_found", f"No product {product_id}.")
    skus = _skus_of(product)
    on_hand = _on_hand(store_id, product.sku_ids, product.cloud_shelf)
    return {"product_id": product.product_id, "category_id": product.category_id,
            "name": product.name, "description": product.description,
            "image_urls": list(product.image_urls), "cloud_shelf": product.cloud_shelf,
            "store_id": store_id, "member_level": _level_view(level),
            "skus": [_offer(product, sku, store_id, on_hand, level) for sku in skus]}
