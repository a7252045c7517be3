"""What a member's unpaid orders hold: how many orders, and how many units of each SKU.

An unpaid order keeps its units out of stock until it is paid or closes, so without a bound
one shopper could hold a SKU's whole stock with orders they never pay (and renew them as
they expire). Every order placed PENDING_PAYMENT, on every channel, takes a ticket on its
member's one holds item in its own transaction: {order id: its units of each SKU}, within
MAX_PENDING_ORDERS_PER_MEMBER tickets and MAX_PENDING_UNITS_PER_SKU units of one SKU, counted
from the item as read and written on condition it is still as read (its version), so two
orders at once cannot both fit one last place: the second reads again. The transaction that
moves the order out of PENDING_PAYMENT (paid, cancelled, expired) removes its ticket, once,
as it is conditioned on that status. One small item per member: one write unit.
"""
from datetime import timedelta

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from chalicelib.config import settings
from chalicelib.db.base import Model, TableMeta
from chalicelib.errors import DomainError

TICKETS = "tickets"
ITEM = "holds"  # its name in a transaction
KEEP = timedelta(days=30)  # long after any order's time to pay: an item with no ticket may go


class PendingHold(Model):
    class Meta(TableMeta):
        table = "pending-holds"

    member_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(range_key=True)  # "tickets"
    tickets = MapAttribute(default=dict)  # {order id: "<sku id>=<units> …"}
    version = NumberAttribute(default=0)
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


def _ticket(units):
    return " ".join(f"{sku_id}={quantity}" for sku_id, quantity in units.items())


def _ticket_units(ticket):
    return {sku_id: int(quantity) for sku_id, _, quantity in
            (part.partition("=") for part in ticket.split())}


def _read(member_id):
    try:
        return PendingHold.get(member_id, TICKETS, consistent_read=True)
    except DoesNotExist:
        return None


def held(member_id):
    """(orders, {sku_id: units}) the member's unpaid orders hold now."""
    return _held(_read(member_id))


def _held(item):
    tickets = item.tickets.as_dict() if item is not None else {}
    units = {}
    for ticket in tickets.values():
        for sku_id, quantity in _ticket_units(ticket).items():
            units[sku_id] = units.get(sku_id, 0) + quantity
    return len(tickets), units


def hold_in(writes, order, now):
    """Adds the new order's ticket (one created with held=True) to its member's holds, in the
    order's transaction (named "holds"); an order that would pass a limit is refused before
    anything is written. A failed condition is a race lost: read again and retry."""
    units = _units(order)
    item = _read(order.member_id)
    orders, holding = _held(item)
    if orders >= settings.max_pending_orders_per_member:
        raise _too_many_orders()
    for sku_id, quantity in units.items():
        if holding.get(sku_id, 0) + quantity > settings.max_pending_units_per_sku:
            raise _too_many_units(order, sku_id)
    keep = PendingHold.expires_at.set(now + KEEP)
    if item is None:
        writes.save(PendingHold(order.member_id, TICKETS,
                                tickets={order.order_id: _ticket(units)}, version=1,
                                expires_at=now + KEEP),
                    condition=PendingHold.member_id.does_not_exist(), name=ITEM)
        return
    writes.update(item, actions=[PendingHold.tickets[order.order_id].set(_ticket(units)),
                                 PendingHold.version.add(1), keep],
                  condition=PendingHold.version == item.version, name=ITEM)


def release_in(writes, order):
    """Removes the order's ticket, in the transaction that moves it out of PENDING_PAYMENT.
    An order placed before holds were counted holds nothing."""
    if not order.held:
        return
    writes.update(PendingHold(order.member_id, TICKETS),
                  actions=[PendingHold.tickets[order.order_id].remove(),
                           PendingHold.version.add(1)], name=ITEM)
