"""Store stock that staff set and adjust. Every change is one transaction of the stock item
(conditioned so it never goes below zero) and its audit entry, so the trail always adds up
to the stock."""
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.catalog.models import Sku, StockMovement, StoreStock
from chalicelib.core import retry
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import Cancellation, transaction, unchanged
from chalicelib.errors import DomainError

ATTEMPTS = 30


def _sku_must_exist(sku_id):
    try:
        Sku.get(sku_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No SKU {sku_id}.") from None


def current(store_id, sku_id):
    try:
        return StoreStock.get(store_id, sku_id, consistent_read=True).quantity
    except DoesNotExist:
        return 0


def change_in(writes, store_id, sku_id, delta, condition, reason, by, now):
    """Adds a stock change and its audit entry to a transaction, named stock#<sku id> (the
    one whose condition can fail) and movement#<sku id>."""
    writes.update(StoreStock(store_id, sku_id), actions=[StoreStock.quantity.add(delta)],
                  condition=condition, name=f"stock#{sku_id}")
    writes.save(StockMovement(f"{store_id}#{sku_id}", new_id("mv"), delta=delta, reason=reason,
                              by=by, at=now.isoformat()), name=f"movement#{sku_id}")


def take_in(writes, store_id, sku_id, quantity, reason, by, now):
    """Takes units inside a larger transaction (an order's); it fails rather than go below 0."""
    change_in(writes, store_id, sku_id, -quantity, StoreStock.quantity >= quantity, reason, by,
              now)


def put_back_in(writes, store_id, sku_id, quantity, reason, by, now):
    change_in(writes, store_id, sku_id, quantity, None, reason, by, now)


def put_back_lines_in(writes, store_id, lines, reason, by, now):
    """Each line's units ({"sku_id", "quantity"}: a refund's) back in stock."""
    for line in lines:
        put_back_in(writes, store_id, line["sku_id"], line["quantity"], reason, by, now)


# An order's own units: the order is their record (its lines, who, when), so taking them
# and giving them back when it is not paid writes no audit entry of its own.

def order_take(store_id, sku_id, quantity, refusal):
    """An order's units of a SKU, for the kernel to take on their own (orders/takes.py): it
    never goes below 0, and refusal is the shopper's answer when too few are left."""
    from chalicelib.orders.takes import Take

    return Take(StoreStock, (store_id, sku_id), "quantity", quantity, refusal)


def give_back_for_order_in(writes, store_id, lines):
    """An unpaid order's units ({"sku_id", "quantity"} lines) back in stock."""
    for line in lines:
        writes.update(StoreStock(store_id, line["sku_id"]),
                      actions=[StoreStock.quantity.add(line["quantity"])],
                      name=f"stock#{line['sku_id']}")


def _write(store_id, sku_id, delta, condition, reason, by, now):
    with transaction() as writes:
        change_in(writes, store_id, sku_id, delta, condition, reason, by, now)


def _retrying(change):
    """Runs a stock change again when it lost a race to another change of the same item."""
    for _ in retry.attempts(ATTEMPTS):
        try:
            return change()
        except TransactWriteError as error:
            if not Cancellation.of(error).conflict:
                raise
    raise DomainError("conflict", "The stock is changing too fast; try again.")


def adjust(store_id, sku_id, delta, reason, by, clock=system_clock):
    """Adds (or with a negative delta takes) units; refuses to go below zero."""
    _sku_must_exist(sku_id)
    if delta == 0:
        raise DomainError("validation_error", "An adjustment of 0 changes nothing.")
    enough = StoreStock.quantity >= -delta
    if delta > 0:
        enough = StoreStock.quantity.does_not_exist() | (StoreStock.quantity >= 0)
    try:
        _retrying(lambda: _write(store_id, sku_id, delta, enough, reason, by, clock.now()))
    except TransactWriteError:
        raise DomainError("insufficient_stock",
                          f"Only {current(store_id, sku_id)} in stock.") from None
    return {"store_id": store_id, "sku_id": sku_id, "quantity": current(store_id, sku_id)}


def set_quantity(store_id, sku_id, quantity, reason, by, clock=system_clock):
    """Sets the count (a stocktake): recorded as the difference from what was there."""
    _sku_must_exist(sku_id)

    def change():
        was = current(store_id, sku_id)
        if quantity != was:
            _write(store_id, sku_id, quantity - was, unchanged(StoreStock.quantity, was),
                   reason, by, clock.now())

    for _ in range(ATTEMPTS):
        try:
            _retrying(change)
            return {"store_id": store_id, "sku_id": sku_id,
                    "quantity": current(store_id, sku_id)}
        except TransactWriteError:
            continue  # changed between the read and the write: count again
    raise DomainError("conflict", "The stock is changing too fast; try again.")


def on_hand(store_id, sku_ids, consistent=False):
    """Units of each SKU in the store (one BatchGet, eventually consistent unless asked):
    {sku_id: units}, a SKU never stocked there left out."""
    return {item.sku_id: item.quantity
            for item in StoreStock.batch_get([(store_id, sku_id) for sku_id in sku_ids],
                                             consistent_read=consistent)}


def movements(store_id, sku_id, limit, cursor):
    from chalicelib.core.pagination import query_page

    def view(movement):
        return {"movement_id": movement.movement_id, "delta": movement.delta,
                "reason": movement.reason, "by": movement.by, "at": movement.at}

    return query_page(StockMovement, f"{store_id}#{sku_id}", view, "movements", limit=limit,
                      cursor=cursor, scan_index_forward=False)
