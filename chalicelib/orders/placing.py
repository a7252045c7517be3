"""Placing orders: the one pipeline every channel (orders/channels.py) goes through.

Once per Idempotency-Key: the channel quotes (its reads, its rules, the one pricing engine),
and the order is placed in one DynamoDB transaction, all of it or none: the key ("key"), the
order, PENDING_PAYMENT ("order"), the channel's items (its stock or shards, coupon, points,
seat, limits: each named by the channel) and the member's holds (within the limits of unpaid
orders and units, holds.py). A failed condition is answered by name: the key's with the
order that key placed meanwhile, a hold's with its limit, the channel's with its refusal; a
race lost otherwise (points, stock read a moment ago) is tried again, re-planned by the
channel.
"""
import hashlib
import json
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.orders import holds
from chalicelib.orders.models import IdempotencyKey, Order
from chalicelib.config import settings
from chalicelib.core import retry
from chalicelib.core.clock import SHANGHAI, utc_text
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.db.cursors import MINUTE

PENDING_PAYMENT, PAID, CLOSED = "PENDING_PAYMENT", "PAID", "CLOSED"
SHIPPED, COMPLETED, REFUNDED = "SHIPPED", "COMPLETED", "REFUNDED"
IDEMPOTENCY_HOURS = 48


def request_hash_of(request):
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def repeat(key, request_hash):
    """The order an earlier request with this key made; 409 if that request was another."""
    try:
        earlier = IdempotencyKey.get(key, consistent_read=True)
    except DoesNotExist:
        return None
    if earlier.request_hash != request_hash:
        raise DomainError("idempotency_key_reused",
                          "This Idempotency-Key was used for another order.")
    return Order.get(earlier.order_id, consistent_read=True)


def new_order(order_id, member_id, request, quote, now):
    breakdown = quote.breakdown
    pay_by = now + timedelta(minutes=quote.pay_minutes or settings.order_pay_minutes)
    return Order(
        order_id, member_id=member_id, openid=quote.openid, store_id=quote.store_id,
        channel=breakdown["channel"], fulfilment=breakdown["fulfilment"],
        stock_from=quote.stock_from, status=PENDING_PAYMENT, breakdown=breakdown,
        total_fen=breakdown["total_fen"], points_used=breakdown["points"],
        member_coupon_id=breakdown["member_coupon_id"], guide_id=quote.guide_id,
        address=request.get("address"), created_at=now,
        created_key=f"{utc_text(now)}#{order_id}", store_day=store_day(quote.store_id, now),
        pay_by=pay_by, pending_minute=pay_by.strftime(MINUTE), held=True,
        **quote.order_fields)


def store_day(store_id, moment):
    return f"{store_id}#{moment.astimezone(SHANGHAI).strftime('%Y-%m-%d')}"


def _write(channel, key, request_hash, order, quote, now):
    """The order's one transaction, every item named: "key", "order", the channel's, the
    holds'."""
    with transaction() as writes:
        writes.save(IdempotencyKey(key, request_hash=request_hash, order_id=order.order_id,
                                   expires_at=now + timedelta(hours=IDEMPOTENCY_HOURS)),
                    condition=IdempotencyKey.key.does_not_exist(), name="key")
        writes.save(order, condition=Order.order_id.does_not_exist(), name="order")
        channel.reserve_in(writes, order, quote, now)
        holds.hold_in(writes, order, now)


def place(channel, member_id, idempotency_key, request, clock=system_clock):
    """Places the order through the channel once per Idempotency-Key: (order, created)."""
    key = f"{member_id}#{idempotency_key}"
    request_hash = request_hash_of({name: value for name, value in request.items()
                                    if name not in channel.unkeyed})
    earlier = repeat(key, request_hash)
    if earlier is not None:
        return earlier, False
    order_id = new_id("o")
    quote = None
    for _ in retry.attempts(channel.attempts):
        now = clock.now()
        quote = (quote and channel.replan(quote, now)) or channel.quote(member_id, request, now)
        order = new_order(order_id, member_id, request, quote, now)
        try:
            _write(channel, key, request_hash, order, quote, now)
            return order, True
        except TransactWriteError as error:
            cancelled = Cancellation.of(error)
            if cancelled.failed("key"):  # the same key, placed meanwhile
                return repeat(key, request_hash), False
            refusal = holds.refusal(cancelled, order) or channel.refusal(cancelled, order, quote)
            if refusal is not None:
                raise refusal from None
            if not cancelled.lost_race:
                raise
    raise DomainError("conflict", "Too many orders at once; try again.")


def _moment(value):
    return value.isoformat() if value else None


def order_view(order):
    return {"order_id": order.order_id, "status": order.status, "store_id": order.store_id,
            "member_id": order.member_id, "channel": order.channel,
            "fulfilment": order.fulfilment, "total_fen": order.total_fen,
            "breakdown": order.breakdown, "guide_id": order.guide_id,
            "address": order.address, "created_at": order.created_at.isoformat(),
            "pay_by": order.pay_by.isoformat(), "pickup_code": order.pickup_code,
            "paid_at": _moment(order.paid_at), "points_earned": order.points_earned,
            "delivery": order.delivery, "shipped_at": _moment(order.shipped_at),
            "completed_at": _moment(order.completed_at), "closed_at": _moment(order.closed_at),
            "close_reason": order.close_reason, "refunded_fen": order.refunded_fen,
            "refunded_quantities": order.refunded_quantities or {},
            "flash_sale_id": order.flash_sale_id, "group_id": order.group_id,
            "awaiting_group": bool(order.awaiting_group),
            "live_session_id": order.live_session_id}


def get_own(member_id, order_id):
    try:
        order = Order.get(order_id)
    except DoesNotExist:
        order = None
    if order is None or order.member_id != member_id:
        raise DomainError("not_found", f"You have no order {order_id}.")
    return order


def member_orders(member_id, limit, cursor):
    from chalicelib.core.pagination import query_page

    return query_page(Order.by_member, member_id, order_view, "orders", limit=limit,
                      cursor=cursor, scan_index_forward=False)


def store_orders(store_id, day, status, limit, cursor, clock=system_clock):
    """One store-day partition of the index: the cost is that day's orders at most."""
    from chalicelib.core.pagination import query_page

    partition = f"{store_id}#{day}" if day else store_day(store_id, clock.now())
    return query_page(Order.by_store_day, partition, order_view, "orders", limit=limit,
                      cursor=cursor, scan_index_forward=False,
                      filter_condition=(Order.status == status) if status else None)
