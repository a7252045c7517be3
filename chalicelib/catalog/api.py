from chalice import Blueprint

from chalicelib.catalog import schemas
from chalicelib.core.pagination import PAGE_QUERY
from chalicelib.core.routing import ADMIN, PUBLIC, route, staff

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
