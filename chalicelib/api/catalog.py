from chalice import Blueprint

from chalicelib.api.schemas import catalog as schemas
from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.api.routing import ADMIN, PUBLIC, VISITOR, route, staff

bp = Blueprint(__name__)


@route(bp, "/stores", auth=PUBLIC, query=schemas.NEAREST_QUERY, response=schemas.STORE_LIST,
       summary="The nearest open stores, with their distance")
def nearest_stores(call):
    from chalicelib.catalog import stores
    from chalicelib.errors import DomainError

    lat, lng = float(call.query["lat"]), float(call.query["lng"])
    radius_m = int(call.query.get("radius_m", 5_000))
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or radius_m > stores.MAX_RADIUS_M:
        raise DomainError("validation_error",
                          f"lat, lng must be a place on Earth and radius_m at most "
                          f"{stores.MAX_RADIUS_M}.")
    return {"stores": stores.nearest(lat, lng, radius_m, int(call.query.get("limit", 10)),
                                     call.query.get("sku_id"),
                                     call.query.get("include_closed") == "true")}


@route(bp, "/stores/{store_id}", auth=PUBLIC, response=schemas.STORE, summary="One store")
def store(call):
    from chalicelib.catalog import stores
    from chalicelib.core.clock import clock

    return stores.store_view(stores.get_store(call.params["store_id"]), clock.now())


@route(bp, "/admin/stores", "POST", auth=ADMIN, body=schemas.NEW_STORE, response=schemas.STORE,
       status=201, error_codes=["conflict"], summary="Open a store")
def create_store(call):
    from chalicelib.catalog import stores

    return stores.create_store(call.body)


@route(bp, "/admin/stores/{store_id}", "PUT", auth=ADMIN, body=schemas.STORE_CHANGES,
       response=schemas.STORE, summary="Change a store")
def update_store(call):
    from chalicelib.catalog import stores

    return stores.update_store(call.params["store_id"], call.body)


STOCK_KEEPERS = staff("store_manager", "clerk", store_param="store_id")


@route(bp, "/stores/{store_id}/stock/{sku_id}/adjustments", "POST", auth=STOCK_KEEPERS,
       body=schemas.STOCK_ADJUSTMENT, response=schemas.STOCK, status=201,
       error_codes=["insufficient_stock"], summary="Add or take units, with a reason")
def adjust_stock(call):
    from chalicelib.catalog import stock

    return stock.adjust(call.params["store_id"], call.params["sku_id"], call.body["delta"],
                        call.body["reason"], call.member_id)


@route(bp, "/stores/{store_id}/stock/{sku_id}", "PUT", auth=STOCK_KEEPERS,
       body=schemas.STOCK_COUNT, response=schemas.STOCK, summary="Set the count (stocktake)")
def count_stock(call):
    from chalicelib.catalog import stock

    return stock.set_quantity(call.params["store_id"], call.params["sku_id"],
                              call.body["quantity"], call.body["reason"], call.member_id)


@route(bp, "/stores/{store_id}/stock/{sku_id}/movements", auth=STOCK_KEEPERS,
       query=PAGE_QUERY, response=schemas.STOCK_MOVEMENTS,
       summary="Who changed this stock, when and why (newest first)")
def stock_movements(call):
    from chalicelib.catalog import stock

    return stock.movements(call.params["store_id"], call.params["sku_id"],
                           int(call.query.get("limit", 20)), call.query.get("cursor"))


@route(bp, "/categories", auth=PUBLIC, response=schemas.CATEGORIES,
       summary="The catalog's categories, in display order")
def categories(call):
    from chalicelib.catalog import products

    return {"categories": products.categories()}


@route(bp, "/admin/categories", "POST", auth=ADMIN, body=schemas.NEW_CATEGORY,
       response=schemas.CATEGORY, status=201, error_codes=["conflict"],
       summary="Add a category")
def create_category(call):
    from chalicelib.catalog import products

    return products.save_category(call.body)


@route(bp, "/admin/categories/{category_id}", "PUT", auth=ADMIN, body=schemas.CATEGORY_CHANGES,
       response=schemas.CATEGORY, summary="Rename or move a category")
def update_category(call):
    from chalicelib.catalog import products

    return products.save_category(call.body, call.params["category_id"])


@route(bp, "/admin/products", "POST", auth=ADMIN, body=schemas.NEW_PRODUCT,
       response=schemas.PRODUCT, status=201, error_codes=["conflict"],
       summary="Add a product with its SKUs")
def create_product(call):
    from chalicelib.catalog import products

    return products.create_product(call.body)


@route(bp, "/admin/products/{product_id}", "PUT", auth=ADMIN, body=schemas.PRODUCT_CHANGES,
       response=schemas.PRODUCT,
       summary="Change a product: name, images, category, on sale, cloud shelf")
def update_product(call):
    from chalicelib.catalog import products

    return products.update_product(call.params["product_id"], call.body)


@route(bp, "/admin/products/{product_id}/skus", "POST", auth=ADMIN, body=schemas.NEW_SKU,
       response=schemas.SKU, status=201, error_codes=["conflict"],
       summary="Add a SKU to a product")
def add_sku(call):
    from chalicelib.catalog import products

    return products.add_sku(call.params["product_id"], call.body)


@route(bp, "/admin/skus/{sku_id}", "PUT", auth=ADMIN, body=schemas.SKU_CHANGES,
       response=schemas.SKU, summary="Change a SKU's specs or the brand's price")
def update_sku(call):
    from chalicelib.catalog import products

    return products.update_sku(call.params["sku_id"], call.body)


PRICE_SETTERS = staff("store_manager", store_param="store_id")


@route(bp, "/stores/{store_id}/prices/{sku_id}", "PUT", auth=PRICE_SETTERS,
       body=schemas.STORE_PRICE, response=schemas.STORE_PRICE_SET, error_codes=["brand_priced"],
       summary="The store's own price for a SKU (franchise and joint stores; admins anywhere)")
def set_store_price(call):
    from chalicelib.catalog import products, stores

    return products.set_store_price(stores.get_store(call.params["store_id"]),
                                    call.params["sku_id"], call.body["price_fen"], call.staff)


@route(bp, "/stores/{store_id}/prices/{sku_id}", "DELETE", auth=PRICE_SETTERS,
       response=schemas.STORE_PRICE_SET, error_codes=["brand_priced"],
       summary="Back to the brand's price for a SKU")
def clear_store_price(call):
    from chalicelib.catalog import products, stores

    return products.set_store_price(stores.get_store(call.params["store_id"]),
                                    call.params["sku_id"], None, call.staff)


@route(bp, "/admin/promotion-settings", auth=ADMIN, response=schemas.PROMOTION_SETTINGS,
       summary="The brand's floor under promotion prices")
def promotion_settings(call):
    from chalicelib.promotions import listings as promotions

    return promotions.current_settings()


@route(bp, "/admin/promotion-settings", "PUT", auth=ADMIN, body=schemas.PROMOTION_SETTINGS,
       response=schemas.PROMOTION_SETTINGS,
       summary="Set the brand's floor under promotion prices (a percent of the brand's price)")
def replace_promotion_settings(call):
    from chalicelib.promotions import listings as promotions

    return promotions.replace_settings(call.body, call.member_id)


@route(bp, "/stores/{store_id}/products", auth=VISITOR, query=schemas.SHELF_QUERY,
       response=schemas.SHELF,
       summary="A category's products as sold in the store, with the caller's prices")
def shelf(call):
    from chalicelib.catalog import products, stores
    from chalicelib.members import loyalty

    stores.get_store(call.params["store_id"])
    return products.shelf(call.params["store_id"], call.query["category_id"],
                          loyalty.caller_level(call.member_id),
                          int(call.query.get("limit", 20)), call.query.get("cursor"))


@route(bp, "/stores/{store_id}/products/{product_id}", auth=VISITOR,
       response=schemas.PRODUCT_IN_STORE,
       summary="A product in the store: each SKU's price for the caller, stock, fulfilment")
def product_in_store(call):
    from chalicelib.catalog import products, stores
    from chalicelib.members import loyalty

    stores.get_store(call.params["store_id"])
    return products.detail(call.params["store_id"], call.params["product_id"],
                           loyalty.caller_level(call.member_id))
