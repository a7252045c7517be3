"""Stores: what ops set up, and the nearest-store search shoppers start from."""
from concurrent.futures import ThreadPoolExecutor
from datetime import time as clock_time
from functools import lru_cache

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.catalog import geo
from chalicelib.catalog.models import CENTRAL_WAREHOUSE, Store, StoreStock
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.errors import DomainError
from chalicelib.core.clock import SHANGHAI

MAX_RADIUS_M = 19_000  # what the widest 3×3 block of cells is sure to cover
EDITABLE = ("name", "ownership", "city", "address", "opening_hours", "offers_pickup",
            "delivery_radius_m", "status")


def _hours(text):
    opens, _, closes = text.partition("-")
    return clock_time.fromisoformat(opens), clock_time.fromisoformat(closes)


def is_open(opening_hours, moment):
    """Whether the hours (Asia/Shanghai, HH:MM-HH:MM, possibly past midnight) hold now."""
    opens, closes = _hours(opening_hours)
    local = moment.astimezone(SHANGHAI).time()
    if opens <= closes:
        return opens <= local < closes
    return local >= opens or local < closes


def store_view(store, now, distance_m=None):
    view = {
        "store_id": store.store_id, "name": store.name, "ownership": store.ownership,
        "city": store.city, "address": store.address, "lat": store.lat, "lng": store.lng,
        "opening_hours": store.opening_hours, "open_now": is_open(store.opening_hours, now),
        "offers_pickup": store.offers_pickup, "delivery_radius_m": store.delivery_radius_m,
        "status": store.status,
    }
    if distance_m is not None:
        view["distance_m"] = distance_m
    return view


def get_store(store_id):
    try:
        return Store.get(store_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No store {store_id}.") from None


def get_stores(store_ids):
    """The stores of those ids that exist, in one BatchGet."""
    return list(Store.batch_get(store_ids))


def _check_hours(text):
    try:
        _hours(text)
    except ValueError:
        raise DomainError("validation_error", "opening_hours must look like 09:00-22:00.") from None


def create_store(data, clock=system_clock):
    _check_hours(data["opening_hours"])
    if data.get("store_id") == CENTRAL_WAREHOUSE:
        raise DomainError("conflict", f"{CENTRAL_WAREHOUSE} is the central warehouse's id.")
    store = Store(data.get("store_id") or new_id("s"),
                  **{key: data[key] for key in EDITABLE if key in data})
    store.locate(data["lat"], data["lng"])
    try:
        store.save(condition=Store.store_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise DomainError("conflict", f"Store {store.store_id} exists already.") from None
        raise
    return store_view(store, clock.now())


def update_store(store_id, data, clock=system_clock):
    store = get_store(store_id)
    if "opening_hours" in data:
        _check_hours(data["opening_hours"])
    for key in EDITABLE:
        if key in data:
            setattr(store, key, data[key])
    if "lat" in data or "lng" in data:
        store.locate(data.get("lat", store.lat), data.get("lng", store.lng))
    store.save()
    return store_view(store, clock.now())


@lru_cache(maxsize=1)
def _cell_readers():
    return ThreadPoolExecutor(max_workers=9, thread_name_prefix="cells")


def _stores_around(lat, lng, radius_m):
    """The stores in the 3×3 block of cells around the point, the nine Queries at once."""
    precision = geo.precision_for(lat, radius_m)
    if precision is None:  # near the poles cells grow thin; no store of ours is there
        widest = geo.covered_radius_m(lat, geo.PRECISIONS[-1])
        raise DomainError("validation_error",
                          f"At this latitude search within {widest} m at most.")
    index = Store.by_cell5 if precision == 5 else Store.by_cell4
    cells = geo.block_around(lat, lng, precision)
    for stores_in_cell in _cell_readers().map(lambda cell: list(index.query(cell)), cells):
        yield from stores_in_cell


def _with_stock(store_ids, sku_id):
    keys = [(store_id, sku_id) for store_id in store_ids]
    return {stock.store_id for stock in StoreStock.batch_get(keys) if stock.quantity > 0}


def nearest(lat, lng, radius_m=5_000, limit=10, sku_id=None, include_closed=False,
            clock=system_clock):
    """Stores within the radius, nearest first: open ones only unless asked, and only those
    with the SKU in stock when one is given."""
    now = clock.now()
    found = []
    for store in _stores_around(lat, lng, radius_m):
        distance = geo.distance_m(lat, lng, store.lat, store.lng)
        if distance > radius_m or store.status != "active":
            continue
        if not include_closed and not is_open(store.opening_hours, now):
            continue
        found.append((distance, store.store_id, store))
    found.sort(key=lambda entry: entry[:2])
    if sku_id:
        stocked = _with_stock([store_id for _, store_id, _ in found], sku_id) if found else set()
        found = [entry for entry in found if entry[1] in stocked]
    return [store_view(store, now, distance) for distance, _, store in found[:limit]]
