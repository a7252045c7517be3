"""Creating, editing, ending and showing flash sales.

A sale's units leave regular stock shortly before it starts and are split over shard items
(hotstock.py; the shard count follows from the expected peak: 2,000 orders a second → 4
shards); buyers take from the shards (buying.py).
"""
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.promotions import hotstock, listings as promotions
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.errors import DomainError
from chalicelib.promotions.flash.models import FlashSale

REMIND_BEFORE = timedelta(minutes=5)
STOCK_BEFORE = timedelta(minutes=2)
KIND = "flash_sale"


def get(sale_id):
    try:
        return FlashSale.get(sale_id, consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", f"No flash sale {sale_id}.") from None


def names(sale_ids):
    """{sale id: name} of those of the sales that exist, in BatchGets (reports' labels)."""
    wanted = sorted(set(sale_ids))
    return {sale.sale_id: sale.name for sale in FlashSale.batch_get(wanted)} if wanted else {}


def _stock_from(stores):
    from chalicelib.catalog.stores import CENTRAL_WAREHOUSE

    return stores[0] if stores and len(stores) == 1 else CENTRAL_WAREHOUSE


def _next_step(sale, now):
    """When the window job next has something to do for the sale (None: nothing more). A step
    already due is due now, so it falls in a day the job reads."""
    if sale.returned is not None:
        return None
    due = [sale.closes_at]
    if sale.stocked is None:
        due.append(sale.starts_at - STOCK_BEFORE)
    if sale.reminders and sale.reminded_at is None:
        due.append(sale.starts_at - REMIND_BEFORE)
    return max(now, min(due))


def next_step_actions(sale, now):
    due = _next_step(sale, now)
    if due is None:
        return [FlashSale.next_step_day.remove(), FlashSale.next_step_key.remove()]
    return [FlashSale.next_step_day.set(due.strftime("%Y-%m-%d")),
            FlashSale.next_step_key.set(f"{utc_text(due)}#{sale.sale_id}")]


def _apply(sale, request, now):
    sale.name = request["name"]
    sale.items = request["items"]
    sale.per_member_limit = request["per_member_limit"]
    sale.starts_at, sale.ends_at = request["starts_at"], request["ends_at"]
    sale.reminders = request.get("reminders", False)
    sale.shard_count = hotstock.shard_count(request.get("expected_peak_per_s", 2_000),
                                   min(item["quantity"] for item in request["items"]))
    due = _next_step(sale, now)
    sale.next_step_day = due.strftime("%Y-%m-%d")
    sale.next_step_key = f"{utc_text(due)}#{sale.sale_id}"


def _listings(sale):
    return promotions.listings(KIND, sale.sale_id, sale.stores, sale.ends_at)


def _checked(request, by, now):
    """The request with its window parsed, once its terms, prices (for the staff member `by`)
    and quantities check out."""
    request = promotions.parsed_window(request)
    promotions.check_terms(request, now)
    promotions.check_prices(request["items"], "flash_price_fen", by.role, request.get("stores"))
    promotions.check_stock(request["items"], _stock_from(request.get("stores")))
    return request


def create(request, by, clock=system_clock):
    """request: name, items [{sku_id, flash_price_fen, quantity}], stores (None: all),
    per_member_limit, starts_at, ends_at, reminders, expected_peak_per_s. by: the staff
    member creating it."""
    from chalicelib.db.base import transaction

    now = clock.now()
    request = _checked(request, by, now)
    stores = request.get("stores")
    sale = FlashSale(new_id("fs"), stores=stores, stock_from=_stock_from(stores),
                     created_by=by.member_id, created_at=now)
    _apply(sale, request, now)
    with transaction() as writes:
        writes.save(sale, condition=FlashSale.sale_id.does_not_exist(), name="sale")
        for listing in _listings(sale):
            writes.save(listing, name=f"listing#{listing.store_key}")
    return sale


def edit(sale, request, by, clock=system_clock):
    """Changes a sale that has not started and whose units are still in regular stock."""
    from chalicelib.db.base import transaction

    now = clock.now()
    if sale.stocked is not None or now >= sale.starts_at - STOCK_BEFORE:
        raise DomainError("flash_sale_started",
                          "This sale is about to start or has started: it can only be ended.")
    if (request.get("stores") or None) != (sale.stores or None):
        raise DomainError("validation_error", "A sale's stores cannot change; end it and "
                                              "create another.")
    request = _checked(request, by, now)
    old_listings = _listings(sale)
    _apply(sale, request, now)
    with transaction() as writes:
        writes.save(sale, condition=FlashSale.stocked.does_not_exist(), name="sale")
        for listing in old_listings:
            writes.delete(listing, name=f"old_listing#{listing.store_key}")
        for listing in _listings(sale):
            writes.save(listing, name=f"listing#{listing.store_key}")
    return sale


def remaining(sale):
    """Units left per SKU: the sum of its shards (eventually consistent reads)."""
    if sale.stocked is None:
        return {item["sku_id"]: item["quantity"] for item in sale.items}
    left = hotstock.remaining([f"{sale.sale_id}#{item['sku_id']}" for item in sale.items],
                              sale.shard_count)
    return {pool.partition("#")[2]: units for pool, units in left.items()}


def for_display(units):
    """Exact up to 10, then rounded down to tens: "a few left" without a live counter."""
    return units if units <= 10 else units - units % 10


def status(sale, left, now):
    if now >= sale.closes_at:
        return "ended"
    if now < sale.starts_at:
        return "upcoming"
    return "sold_out" if sale.stocked is not None and not any(left.values()) else "live"


def sale_view(sale, now, left=None):
    left = remaining(sale) if left is None else left
    return {
        "sale_id": sale.sale_id, "name": sale.name, "status": status(sale, left, now),
        "starts_at": sale.starts_at.isoformat(), "ends_at": sale.closes_at.isoformat(),
        "stores": sale.stores, "per_member_limit": sale.per_member_limit,
        "reminders": sale.reminders,
        "items": [{"sku_id": item["sku_id"], "flash_price_fen": item["flash_price_fen"],
                   "quantity": item["quantity"],
                   "remaining": for_display(left[item["sku_id"]])} for item in sale.items],
    }


def admin_view(sale, now):
    left = remaining(sale)
    view = sale_view(sale, now, left)
    view.update(shard_count=sale.shard_count, stock_from=sale.stock_from,
                stocked=sale.stocked, returned=sale.returned,
                remaining_exact=left)
    return view


def listed(store_id, clock=system_clock):
    """Upcoming and live sales in the store: its own rows and the brand's, not yet ended."""
    now = clock.now()
    sale_ids = promotions.listed_ids(KIND, store_id, now)
    sales = sorted(FlashSale.batch_get(sale_ids), key=lambda sale: sale.starts_at)
    return [sale_view(sale, now) for sale in sales if sale.closes_at > now]
