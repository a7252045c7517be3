"""Handing paid orders over. A pickup order gets a 6-digit code for its store with its
payment; staff of that store hand the goods over against it, once. Delivery and cloud-shelf
orders are marked shipped, then delivered, by the store's staff. Neither handover happens
while a refund of the order is in flight (the order's count of them is 0 in the handover's
condition): the goods stay until the refund has settled either way."""
import secrets

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.orders.models import Order, PickupCode
from chalicelib.orders.placing import COMPLETED, PAID, SHIPPED
from chalicelib.core import retry
from chalicelib.core.clock import clock as system_clock
from chalicelib.db.base import Cancellation, transaction, unchanged
from chalicelib.errors import DomainError

NO_REFUND_IN_FLIGHT = unchanged(Order.refunds_in_flight, 0)


def new_code(order):
    """A fresh code for the order at its store; saved with the order's payment, on condition
    that no waiting order at the store has it."""
    code = f"{secrets.randbelow(10 ** 6):06d}"
    return PickupCode(f"{order.store_id}#{code}", order_id=order.order_id)


def reserve_pickup_code(order):
    """A fresh code for the order at its store, taken now on condition no waiting order at
    the store has it (another is drawn if so); the order's payment then writes it on the
    order. A code taken for a payment that did not land leads to no order paid with it (a
    handover checks the order's own code)."""
    for _ in range(10):
        code = new_code(order)
        try:
            code.save(condition=PickupCode.store_code.does_not_exist())
            return code.store_code.partition("#")[2]
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise DomainError("conflict", "No pickup code was free; try again.")


def free_pickup_code(order, code):
    """Gives back a code taken for a payment that did not land on the order."""
    PickupCode(f"{order.store_id}#{code}").delete(condition=PickupCode.order_id == order.order_id)


def write_with_pickup_code(order, actions, condition, with_code=True, also_in=None):
    """Updates the order on a condition and, with_code, gives it a fresh pickup code in the
    same transaction (another code if the one drawn is taken at the store); also_in(writes)
    adds what else the change writes (unconditional items, after these, named by whoever
    adds them; "order" and "pickup_code" are taken). False if the condition does not hold."""
    for attempt in range(10):
        code = new_code(order) if with_code else None
        try:
            with transaction() as writes:
                writes.update(order, actions=[
                    *actions, *([Order.pickup_code.set(code.store_code.partition("#")[2])]
                                if code else [])], condition=condition, name="order")
                if code:
                    writes.save(code, condition=PickupCode.store_code.does_not_exist(),
                                name="pickup_code")
                if also_in:
                    also_in(writes)
            return True
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("order"):
                return False
            if not cancelled.any_failed:  # lost a race: wait a little
                retry.pause(attempt)
    raise DomainError("conflict", "Could not record the change; try again.")


def give_pickup_code(order):
    """A paid pickup order that waited for its group gets its code now, once: True for the
    call that gave it."""
    return write_with_pickup_code(order, [Order.awaiting_group.set(False)],
                                  Order.awaiting_group == True)  # noqa: E712 (a condition)


def order_by_id(order_id):
    """The order as it is now (a consistent read), for a domain that follows orders by id."""
    return Order.get(order_id, consistent_read=True)


def release_from_group(order):
    """The order stops waiting for its group: a pickup code, or ready to ship (once). True
    when this call gave it its pickup code."""
    if not order.awaiting_group:
        return False
    if order.fulfilment == "pickup":
        return give_pickup_code(order)
    order.update(actions=[Order.awaiting_group.set(False)])
    return False


def redeem(store_id, code, staff_id, clock=system_clock):
    """Staff of the store hand over a paid order against its code: PAID → COMPLETED once."""
    try:
        waiting = PickupCode.get(f"{store_id}#{code}", consistent_read=True)
    except DoesNotExist:
        raise DomainError("not_found", "No order waits for pickup with this code here.") \
            from None
    order = Order.get(waiting.order_id)
    try:
        with transaction() as writes:
            writes.delete(waiting, condition=PickupCode.order_id == order.order_id,
                          name="pickup_code")
            writes.update(order, actions=[Order.status.set(COMPLETED),
                                          Order.completed_at.set(clock.now()),
                                          Order.completed_by.set(staff_id)],
                          condition=(Order.status == PAID) & (Order.store_id == store_id)
                          & (Order.pickup_code == code) & NO_REFUND_IN_FLIGHT, name="order")
    except TransactWriteError:
        order.refresh(consistent_read=True)
        _refuse_if_refund_in_flight(order)
        raise DomainError("not_found", "No order waits for pickup with this code here.") \
            from None
    order.refresh()
    return order


def _refuse_if_refund_in_flight(order):
    if order.status == PAID and order.refunds_in_flight:
        raise DomainError("refund_in_progress", "A refund of this order is in progress: "
                                                "keep the goods until it has settled.")


def store_order(store_id, order_id):
    try:
        order = Order.get(order_id, consistent_read=True)
    except DoesNotExist:
        order = None
    if order is None or order.store_id != store_id:
        raise DomainError("not_found", f"This store has no order {order_id}.")
    return order


def _move(store_id, order_id, from_status, actions, verb, condition=None):
    order = store_order(store_id, order_id)
    if order.fulfilment == "pickup":
        raise DomainError("order_not_shippable", "A pickup order is handed over with its code.")
    moves = Order.status == from_status
    if condition is not None:
        moves &= condition
    try:
        order.update(actions=actions, condition=moves)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        order.refresh(consistent_read=True)
        _refuse_if_refund_in_flight(order)
        raise DomainError("order_not_shippable",
                          f"This order is {order.status.lower()}: it cannot be {verb}.") \
            from None
    return order


def ship(store_id, order_id, delivery, staff_id, clock=system_clock):
    """PAID → SHIPPED, with the carrier and tracking number the shopper will see. An order
    whose group has not completed waits."""
    if store_order(store_id, order_id).awaiting_group:
        raise DomainError("order_not_shippable", "This order waits for its group to fill.")
    return _move(store_id, order_id, PAID,
                 [Order.status.set(SHIPPED), Order.shipped_at.set(clock.now()),
                  Order.delivery.set({**delivery, "shipped_by": staff_id})], "shipped",
                 NO_REFUND_IN_FLIGHT)


def deliver(store_id, order_id, staff_id, clock=system_clock):
    """SHIPPED → COMPLETED: the shopper has the goods."""
    return _move(store_id, order_id, SHIPPED,
                 [Order.status.set(COMPLETED), Order.completed_at.set(clock.now()),
                  Order.completed_by.set(staff_id)], "marked delivered")
