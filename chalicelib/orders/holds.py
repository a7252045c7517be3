"""What a member's unpaid orders hold: how many orders, and how many units of each SKU.

An unpaid order keeps its units out of stock until it is paid or closes, so without a bound
one shopper could hold a SKU's whole stock with orders they never pay (and renew them as
they expire). Every order placed PENDING_PAYMENT, on every channel, counts on its member's
holds in its own transaction, on condition the member stays within
MAX_PENDING_ORDERS_PER_MEMBER orders and MAX_PENDING_UNITS_PER_SKU units of one SKU; the
transaction that moves the order out of PENDING_PAYMENT (paid, cancelled, expired) gives
them back, once, as it is conditioned on that status.

One item per count, in the member's partition: DynamoDB adds only to top-level attributes
and sets a map's key only once the map exists, and a transaction's cancellation reasons are
per item, so one small item per limit keeps each a single conditional ADD and names the
limit a refused order hit.
"""
from datetime import timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.config import settings
from chalicelib.db.base import Model, TableMeta
from chalicelib.errors import DomainError

ORDERS = "orders"
KEEP = timedelta(days=30)  # long after any order's time to pay: a count back at 0 may go


class PendingHold(Model):
    class Meta(TableMeta):
        table = "pending-holds"

    member_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(range_key=True)  # "orders", or "sku#<sku id>" (its units)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


def _units(order):
    """{sku_id: units} of the order's lines, in line order."""
    units = {}
    for line in order.breakdown["lines"]:
        units[line["sku_id"]] = units.get(line["sku_id"], 0) + line["quantity"]
    return units


def _name(order, sku_id):
    return next(line["name"] for line in order.breakdown["lines"] if line["sku_id"] == sku_id)


def _too_many_orders():
    limit = settings.max_pending_orders_per_member
    return DomainError("too_many_pending_orders",
                       f"You have {limit} orders waiting for payment: pay or cancel one first.")


def _too_many_units(order, sku_id):
    limit = settings.max_pending_units_per_sku
    return DomainError("pending_units_limit",
                       f"At most {limit} of {_name(order, sku_id)} may wait in your unpaid "
                       f"orders.")


def hold_in(writes, order, now):
    """Counts a new order (one created with held=True) on its member's holds, in the order's
    transaction: the orders' count ("hold#orders"), then one per SKU ("hold#sku#<sku id>").
    An order that no hold could take is refused before anything is written."""
    units = _units(order)
    max_units = settings.max_pending_units_per_sku
    for sku_id, quantity in units.items():
        if quantity > max_units:
            raise _too_many_units(order, sku_id)
    count, keep = PendingHold.count, PendingHold.expires_at.set(now + KEEP)
    writes.update(PendingHold(order.member_id, ORDERS), actions=[count.add(1), keep],
                  condition=count.does_not_exist()
                  | (count < settings.max_pending_orders_per_member), name=_item(ORDERS))
    for sku_id, quantity in units.items():
        writes.update(PendingHold(order.member_id, f"sku#{sku_id}"),
                      actions=[count.add(quantity), keep],
                      condition=count.does_not_exist() | (count <= max_units - quantity),
                      name=_item(f"sku#{sku_id}"))


def _item(kind):
    """The name of a hold's item in a transaction: "hold#orders", "hold#sku#<sku id>"."""
    return f"hold#{kind}"


def refusal(cancelled, order):
    """The limit a cancelled order transaction hit (a Cancellation, read by the hold items'
    names), or None."""
    if cancelled.failed(_item(ORDERS)):
        return _too_many_orders()
    for sku_id in _units(order):
        if cancelled.failed(_item(f"sku#{sku_id}")):
            return _too_many_units(order, sku_id)
    return None


def release_in(writes, order):
    """Gives back what the order held, in the transaction that moves it out of
    PENDING_PAYMENT. An order placed before holds were counted holds nothing."""
    if not order.held:
        return
    writes.update(PendingHold(order.member_id, ORDERS), actions=[PendingHold.count.add(-1)],
                  name=_item(ORDERS))
    for sku_id, quantity in _units(order).items():
        writes.update(PendingHold(order.member_id, f"sku#{sku_id}"),
                      actions=[PendingHold.count.add(-quantity)], name=_item(f"sku#{sku_id}"))


def held(member_id):
    """(orders, {sku_id: units}) the member's unpaid orders hold now."""
    orders, units = 0, {}
    for item in PendingHold.query(member_id, consistent_read=True):
        if item.kind == ORDERS:
            orders = item.count
        else:
            units[item.kind.partition("#")[2]] = item.count
    return orders, units
