"""What a member's unpaid orders hold: how many orders, and how many units of each SKU.

An unpaid order keeps its units out of stock until it is paid or closes, so without a bound
one shopper could hold a SKU's whole stock with orders they never pay (and renew them as
they expire). Every order placed PENDING_PAYMENT, on every channel, first takes a ticket on
its member's one holds item: {order id: "<placed>/<pay by> <sku id>=<units> …"}, within
MAX_PENDING_ORDERS_PER_MEMBER tickets and MAX_PENDING_UNITS_PER_SKU units of one SKU, counted
from the item as read and written on condition it is still as read (its version), so two
orders at once cannot both fit one last place: the second reads again.

Nothing writes the item when an order is paid or closes: a ticket past its order's time to
pay holds nothing, and is dropped by the member's next placement; one that would stop a
placement at a limit is checked against its order first (an order no longer unpaid, or one
never written long after its ticket, holds nothing either). One write unit an order.
"""
from datetime import timedelta

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from chalicelib.config import settings
from chalicelib.db.base import Model, TableMeta, transaction
from chalicelib.errors import DomainError

TICKETS = "tickets"
KEEP = timedelta(days=30)  # long after any order's time to pay: an item with no ticket may go
UNWRITTEN = timedelta(minutes=1)  # a ticket this old without its order: the order never came


class PendingHold(Model):
    class Meta(TableMeta):
        table = "pending-holds"

    member_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(range_key=True)  # "tickets"
    tickets = MapAttribute(default=dict)  # {order id: "<placed>/<pay by> <sku id>=<units> …"}
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


def _epoch(moment):
    return int(moment.timestamp())


def ticket_of(order):
    times = f"{_epoch(order.created_at)}/{_epoch(order.pay_by)}"
    return " ".join([times, *(f"{sku_id}={quantity}"
                              for sku_id, quantity in _units(order).items())])


def _parsed(ticket):
    """(placed, pay by, {sku_id: units}) of a ticket (placed and pay by as epoch seconds)."""
    times, *parts = ticket.split()
    placed, _, pay_by = times.partition("/")
    return int(placed), int(pay_by), {sku_id: int(quantity) for sku_id, _, quantity in
                                      (part.partition("=") for part in parts)}


def _read(member_id):
    try:
        return PendingHold.get(member_id, TICKETS, consistent_read=True)
    except DoesNotExist:
        return None


def _refusal(tickets, order, units):
    """Why one more order of these units does not fit beside the tickets ({order id:
    ticket}), or None."""
    if len(tickets) + 1 > settings.max_pending_orders_per_member:
        return _too_many_orders()
    over = _over_units(tickets, units)
    return None if over is None else _too_many_units(order, over)


def _over_units(tickets, units):
    holding = {}
    for ticket in tickets.values():
        for sku_id, quantity in _parsed(ticket)[2].items():
            holding[sku_id] = holding.get(sku_id, 0) + quantity
    return next((sku_id for sku_id, quantity in units.items()
                 if holding.get(sku_id, 0) + quantity > settings.max_pending_units_per_sku),
                None)


def _still_held(tickets, now):
    """The tickets whose orders still hold their units: the orders read (consistently), an
    order no longer unpaid dropped, and one never written a while after its ticket."""
    from chalicelib.orders.models import PENDING_PAYMENT, orders_by_id

    orders = orders_by_id(set(tickets))
    return {order_id: ticket for order_id, ticket in tickets.items()
            if (order_id in orders and orders[order_id].status == PENDING_PAYMENT)
            or (order_id not in orders
                and _parsed(ticket)[0] > _epoch(now - UNWRITTEN))}


def hold(order, now, placed_ticket=None):
    """Adds the new order's ticket to its member's holds, in one conditional write before
    anything is taken for it, and returns the ticket; an order that would pass a limit is
    refused, and nothing is written. A TransactWriteError is a race lost: read again and
    retry. A ticket this placement wrote already (placed_ticket) stands for it: nothing is
    written again."""
    units = _units(order)
    item = _read(order.member_id)
    tickets = item.tickets.as_dict() if item is not None else {}
    if placed_ticket is not None and tickets.get(order.order_id) == placed_ticket:
        return placed_ticket
    current = {order_id: ticket for order_id, ticket in tickets.items()
               if order_id != order.order_id and _parsed(ticket)[1] > _epoch(now)}
    if _refusal(current, order, units) is not None:
        current = _still_held(current, now)  # the tickets in the way, checked against orders
        refusal = _refusal(current, order, units)
        if refusal is not None:
            raise refusal
    ticket = ticket_of(order)
    with transaction() as writes:
        if item is None:
            writes.save(PendingHold(order.member_id, TICKETS, tickets={order.order_id: ticket},
                                    version=1, expires_at=now + KEEP),
                        condition=PendingHold.member_id.does_not_exist(), name="holds")
        else:
            dropped = [order_id for order_id in tickets
                       if order_id not in current and order_id != order.order_id]
            writes.update(item, actions=[
                PendingHold.tickets[order.order_id].set(ticket),
                *(PendingHold.tickets[order_id].remove() for order_id in dropped),
                PendingHold.version.add(1), PendingHold.expires_at.set(now + KEEP)],
                condition=PendingHold.version == item.version, name="holds")
    return ticket


def release(member_id, order_id, ticket):
    """Drops the ticket of an order that was not written after all (on condition it is the
    one this placement wrote: a repeat of the request may have written its own)."""
    from pynamodb.exceptions import UpdateError

    try:
        PendingHold(member_id, TICKETS).update(
            actions=[PendingHold.tickets[order_id].remove(), PendingHold.version.add(1)],
            condition=PendingHold.tickets[order_id] == ticket)
    except UpdateError:
        pass  # already gone, or another placement's now
