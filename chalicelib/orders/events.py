"""The order kernel's events, and what their subscribers receive.

ORDER_PAID is the order's own change, PENDING_PAYMENT → PAID, as the orders table's stream
delivers it (db/streams.py): `deliver_paid_orders`, the stream's consumer, runs the kind's
subscribers for each order of a batch that just became paid. ORDER_REFUNDED is written in the
transaction that settles a refund (db/events.py keeps it until every subscriber has run); a
refund of goods that succeeded shows in the orders stream too (`just_settled_refunds`), for
a consumer that takes a whole batch.
Their subscribers live with their domains and are listed in chalicelib/wiring.py; each takes
what the loader here gives (the order; the order and the refund), read consistently once per
delivery, and a clock."""
from dataclasses import dataclass
from datetime import datetime

ORDER_PAID = "order_paid"
ORDER_REFUNDED = "order_refunded"
# ORDER_REFUNDED's name until it was renamed: events written under it may still be pending in
# the table, so wiring.py gives this kind the same subscribers and the events job delivers
# them. Nothing writes it any more.
REFUND_SETTLED = "refund_settled"


_payment_writes = []  # the one function that gives them (set by use_payment_writes)


def use_payment_writes(provider):
    """Installs provider() → the functions (writes, order, now) → {order attribute: value}
    that add what a payment earns to the transaction that marks the order paid, and say what
    the order keeps of it (chalicelib/wiring.py): the member's points and growth, who earns a
    commission. The order's condition (still unpaid) makes them count once."""
    _payment_writes[:] = [provider]


def payment_writes():
    return _payment_writes[0]() if _payment_writes else ()


class Waiting(Exception):
    """A subscriber that must wait for what the payment sets off (tried again later): a
    refund's, for what it takes back."""


def paid_order(subject):
    """What ORDER_PAID's subscribers take: (the order,)."""
    from chalicelib.orders.models import Order

    return (Order.get(subject["order_id"], consistent_read=True),)


def refunded_order(subject):
    """What ORDER_REFUNDED's subscribers take: (the order, the settled refund)."""
    from chalicelib.orders.models import Order, Refund

    return (Order.get(subject["order_id"], consistent_read=True),
            Refund.get(subject["order_id"], subject["refund_id"], consistent_read=True))


def just_paid(change):
    """Whether a change of the orders table is an order moving from PENDING_PAYMENT to PAID."""
    from chalicelib.db.streams import MODIFY
    from chalicelib.orders.placing import PAID, PENDING_PAYMENT

    return change.event == MODIFY and (change.old or {}).get("status") == PENDING_PAYMENT \
        and (change.new or {}).get("status") == PAID


def just_paid_orders(changes):
    """The orders a batch of the orders stream moved to PAID, in its order, read consistently
    in one BatchGet: for a consumer that takes a whole batch (the retail figures)."""
    from chalicelib.orders.models import orders_by_id

    order_ids = [change.keys["order_id"] for change in changes if just_paid(change)]
    found = orders_by_id(order_ids) if order_ids else {}
    return [found[order_id] for order_id in order_ids if order_id in found]


def deliver_paid_orders(changes, clock):
    """The orders stream's consumer: ORDER_PAID's subscribers, in order, for each order the
    batch moved from PENDING_PAYMENT to PAID (whatever else changed is not theirs). One that
    fails does not stop the others; then the batch fails, to be delivered again, and those
    that succeeded change nothing the second time (they are idempotent)."""
    from chalicelib.core import logs
    from chalicelib.db import events

    kind = events.installed_kinds()[ORDER_PAID]
    failed = []
    for change in changes:
        if not just_paid(change):
            continue
        order_id = change.keys["order_id"]
        _, failures = events.run_subscribers(kind, {"order_id": order_id}, clock)
        for name, error in failures:
            logs.warning("order_paid_subscriber_failed", order_id=order_id, subscriber=name,
                         error=error)
            failed.append(f"{order_id}: {name}")
    if failed:
        raise RuntimeError(f"order_paid subscribers failed ({'; '.join(failed)[:500]})")


@dataclass(frozen=True)
class SettledRefund:
    """A refund of goods that succeeded, as the orders stream shows it: its order (as it is
    now: what it was bought through does not change), how manieth of the order's settled
    refunds it is, the money it gave back and when it succeeded (from the stream's images)."""

    order: object
    number: int
    refund_fen: int
    settled_at: datetime


def just_settled_refunds(changes):
    """The refunds of goods a batch of the orders stream settled, in its order, their orders
    read in one BatchGet (the figures take them with the batch's paid orders: one refund's
    event at a time would cost them a transaction each)."""
    from chalicelib.db.streams import MODIFY
    from chalicelib.orders.models import Order, orders_by_id

    settled = [change for change in changes if change.event == MODIFY and (
        (change.new or {}).get("refunds_settled", 0) > (change.old or {}).get(
            "refunds_settled", 0))]
    found = orders_by_id({change.keys["order_id"] for change in settled}) if settled else {}
    return [SettledRefund(found[change.keys["order_id"]], change.new["refunds_settled"],
                          change.new.get("refund_settled_fen", 0)
                          - change.old.get("refund_settled_fen", 0),
                          Order.refund_settled_at.deserialize(change.new["refund_settled_at"]))
            for change in settled if change.keys["order_id"] in found]
