"""What flash sales, group-buys and live sessions share: their time window and SKUs checked
alike, their prices held to the brand's floor and the store's pricing rights, their
quantities to the stock they come from, and the rows that list them in the stores they run
in."""
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute

from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.db.base import Model, TableMeta
from chalicelib.errors import DomainError

ALL_STORES = "*"


class PromotionListing(Model):
    """One row per store a promotion runs in ("*" for every store), by when it ends."""

    class Meta(TableMeta):
        table = "promotion-listings"

    store_key = UnicodeAttribute(hash_key=True)  # a store id, or "*"
    ends_key = UnicodeAttribute(range_key=True)  # <ends at, UTC text>#<kind>#<id>


def parsed_window(request):
    """The request with starts_at and ends_at as datetimes."""
    return {**request, "starts_at": datetime.fromisoformat(request["starts_at"]),
            "ends_at": datetime.fromisoformat(request["ends_at"])}


def check_terms(request, now):
    """The window is sane and not over; each SKU exists once; each store exists."""
    from chalicelib.catalog.products import base_prices
    from chalicelib.catalog.stores import get_store

    if request["starts_at"] >= request["ends_at"]:
        raise DomainError("validation_error", "It must end after it starts.")
    if request["ends_at"] <= now:
        raise DomainError("validation_error", "It would be over already.")
    sku_ids = [item["sku_id"] for item in request["items"]]
    if len(set(sku_ids)) != len(sku_ids):
        raise DomainError("validation_error", "Each SKU once.")
    missing = sorted(set(sku_ids) - set(base_prices(sku_ids)))
    if missing:
        raise DomainError("not_found", f"No SKU {missing[0]}.")
    for store_id in request.get("stores") or ():
        get_store(store_id)


SETTINGS_KEY = "promotion-settings"
DEFAULT_SETTINGS = {"min_promotion_price_percent": 50}


def current_settings():
    """The brand's promotion settings (one brand-settings document), the defaults until set."""
    from chalicelib.db import settings

    return {**DEFAULT_SETTINGS, **settings.read(SETTINGS_KEY, default={})}


def replace_settings(document, admin_id, clock=system_clock):
    from chalicelib.db import settings

    settings.write(SETTINGS_KEY, document, clock.now(), by=admin_id)
    return current_settings()


def floor_fen(base_fen, percent):
    """The lowest promotion price of a SKU the brand sells at base_fen: percent of it, rounded
    up to the fen."""
    return -(-base_fen * percent // 100)


def below_floor(price_fen, base_fen, percent):
    """The floor a promotion price breaks, or None. With percent at most 100 the floor is
    never above the brand's price, so a price at or above the brand's breaks none."""
    floor = floor_fen(base_fen, percent)
    return floor if price_fen < floor else None


def check_floor(items, price_key):
    """Every promotion price below the SKU's brand price is at or above the brand's floor,
    whoever sets it (admins lower the floor, not the prices). Returns the brand prices."""
    from chalicelib.catalog.products import base_prices

    percent = current_settings()["min_promotion_price_percent"]
    bases = base_prices([item["sku_id"] for item in items])
    for item in items:
        floor = below_floor(item[price_key], bases[item["sku_id"]], percent)
        if floor is not None:
            raise DomainError("price_below_floor",
                              f"{price_key} of SKU {item['sku_id']} must be at least {floor} "
                              f"fen ({percent}% of the brand's {bases[item['sku_id']]}).")
    return bases


def check_prices(items, price_key, role, stores):
    """The brand's floor, and the right of whoever sets the prices (a staff role) to price
    below the brand in each store the promotion runs in (catalog's pricing rights)."""
    from chalicelib.catalog.products import check_pricing_rights
    from chalicelib.catalog.stores import get_stores

    bases = check_floor(items, price_key)
    if stores and any(item[price_key] < bases[item["sku_id"]] for item in items):
        for store in get_stores(stores):
            check_pricing_rights(role, store)


def check_stock(items, stock_from):
    """Each quantity is in stock where its units will come from (the stock may still change
    before they move: taking them never oversells)."""
    from chalicelib.catalog import stock

    on_hand = stock.on_hand(stock_from, [item["sku_id"] for item in items])
    for item in items:
        if item["quantity"] > on_hand.get(item["sku_id"], 0):
            raise DomainError("insufficient_stock",
                              f"Only {on_hand.get(item['sku_id'], 0)} of SKU "
                              f"{item['sku_id']} in stock at {stock_from}.")


def listings(kind, promotion_id, stores, ends_at):
    return [PromotionListing(store_id, f"{utc_text(ends_at)}#{kind}#{promotion_id}")
            for store_id in (stores or [ALL_STORES])]


def listed_ids(kind, store_id, now):
    """The ids of the store's promotions of a kind (its own and the brand's) not yet ended."""
    found = []
    for store_key in (store_id, ALL_STORES):
        for row in PromotionListing.query(store_key, PromotionListing.ends_key > utc_text(now)):
            _, row_kind, promotion_id = row.ends_key.split("#", 2)
            if row_kind == kind:
                found.append(promotion_id)
    return found


def runs_in(stores, store_id):
    return not stores or store_id in stores


def priced_line(items, sku_id, quantity, price_key, where):
    """The pricing engine's line for a promotion's SKU at its promotional price."""
    from chalicelib.catalog.products import sku_line

    item = next((item for item in items if item["sku_id"] == sku_id), None)
    if item is None:
        raise DomainError("not_found", f"SKU {sku_id} is not in this {where}.")
    return {**sku_line(sku_id), "quantity": quantity, "unit_price_fen": item[price_key]}


def fulfilment_for(stock_from, request):
    """Central-warehouse stock is delivered (cloud shelf); a store's is picked up there or
    delivered by it."""
    from chalicelib.catalog.stores import CENTRAL_WAREHOUSE

    if stock_from == CENTRAL_WAREHOUSE:
        return "cloud_shelf"
    fulfilment = request.get("fulfilment", "pickup")
    if fulfilment == "cloud_shelf":
        raise DomainError("validation_error", "This is picked up at the store or delivered "
                                              "by it.")
    return fulfilment
