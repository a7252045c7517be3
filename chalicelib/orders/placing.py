"""Placing orders: the one pipeline every channel (orders/channels.py) goes through.

Once per Idempotency-Key: the key names the order's id (order_id_for), so an order that
exists is the key's earlier request. The channel quotes (its reads, its rules, the one
pricing engine); then, each a write of its own: the member's holds take the order's ticket
(within the limits of unpaid orders and units, holds.py), each stock item the channel names
gives its units by one conditional update (orders/takes.py: no transaction, so a hot item
serves every order that reaches it), and the order is written PENDING_PAYMENT, on condition
its id is new, in one transaction with the channel's claims (coupon, points, seat, limits:
each named by the channel) when it has any. A failed condition is answered by name: the
order's with the order that key placed meanwhile, the channel's with its refusal; what was
taken goes back first. A race lost (points, shards or holds read a moment ago) is tried
again, re-planned by the channel.
"""
import base64
import hashlib
import hmac
import json
import zlib
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.orders import holds, takes
from chalicelib.orders.models import (  # noqa: F401 (the statuses, imported from here)
    CLOSED, COMPLETED, PAID, PENDING_PAYMENT, REFUNDED, SHIPPED, Order)
from chalicelib.config import settings
from chalicelib.core import retry
from chalicelib.core.clock import SHANGHAI, utc_text
from chalicelib.core.clock import clock as system_clock
from chalicelib.db import partitions
from chalicelib.db.base import Cancellation, transaction
from chalicelib.errors import DomainError
from chalicelib.db.cursors import MINUTE



_ORDER_ID_LABEL = b"yutang order id key"


def request_hash_of(request):
    """A short digest of the request, kept on its order (a key repeated with another request
    is refused)."""
    digest = hashlib.blake2b(json.dumps(request, sort_keys=True, ensure_ascii=False).encode(),
                             digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode()


def order_id_for(key):
    """The id of the one order an Idempotency-Key of a member names: a keyed hash of it, so
    the order itself is the key's record (nothing else to write) and no id can be guessed.
    26 characters, within WeChat's 32 for an out_trade_no."""
    secret = hmac.new(settings.token_secret.encode(), _ORDER_ID_LABEL, hashlib.sha256).digest()
    digest = hmac.new(secret, key.encode(), hashlib.sha256).digest()[:15]
    return "o_" + base64.b32encode(digest).decode().lower()


def repeat(order_id, request_hash):
    """The order an earlier request with this key made; 409 if that request was another."""
    try:
        earlier = Order.get(order_id, consistent_read=True)
    except DoesNotExist:
        return None
    if earlier.request_hash != request_hash:
        raise DomainError("idempotency_key_reused",
                          "This Idempotency-Key was used for another order.")
    return earlier


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
        created_key=f"{utc_text(now)}#{order_id}",
        store_day=store_day(quote.store_id, now, order_id),
        pay_by=pay_by, pending_minute=pending_minute(pay_by.strftime(MINUTE), order_id),
        **quote.order_fields)


STORE_DAY_SHARDS = 4  # partitions of a store's day in the index: ~4,000 orders a second


def store_day(store_id, moment, order_id):
    """The order's partition of its store's day (by-store-day index), one of STORE_DAY_SHARDS
    by a hash of its id."""
    return f"{_day(store_id, moment)}#{zlib.crc32(order_id.encode()) % STORE_DAY_SHARDS}"


def pending_minute(minute, order_id):
    """The order's key for a minute ("YYYY-MM-DDTHH:MM") in the pending-by-minute index, which
    every order of the brand that minute shares: spread over partitions (db/partitions.py)."""
    return partitions.spread(minute, order_id)


def pending_in(minute):
    """The orders in the pending-by-minute index for a minute, every partition read."""
    for key in partitions.every(minute):
        yield from load_orders(list(Order.pending_by_minute.query(key)))


def _day(store_id, moment):
    return f"{store_id}#{moment.astimezone(SHANGHAI).strftime('%Y-%m-%d')}"


def load_orders(keys):
    """The orders of an index page (keys only), in its order."""
    from chalicelib.core.pagination import whole_items

    return whole_items(Order, keys, lambda order: order.order_id)


PLACED, REPEATED, AGAIN = "placed", "repeated", "again"


def _write(channel, order, quote, now):
    """The order, on condition its id is new, with the channel's claims (a coupon, points, a
    seat, limits) in one transaction if it has any, else as one conditional put."""
    with transaction() as writes:
        writes.save(order, condition=Order.order_id.does_not_exist(), name="order")
        channel.reserve_in(writes, order, quote, now)


def _give_back(order, taken, now):
    for item in taken:
        takes.give_back(item, order.order_id, order.take_attempt, now)


def _attempt(channel, order, quote, now):
    """Takes the order's stock, item by item, then writes the order: PLACED; REPEATED when
    the same key placed it meanwhile; AGAIN after a race lost (what was taken is given back).
    A refusal is raised once what was taken is back. A failure whose outcome is unknown is
    raised as it is: units taken for an order never written are the takes job's."""
    order.take_attempt = takes.new_attempt()
    taken = []
    for item in channel.takes(order, quote):
        if not takes.take(item, order.order_id, order.take_attempt):
            _give_back(order, taken, now)
            if item.refusal is not None:
                raise item.refusal
            return AGAIN
        taken.append(item)
    try:
        _write(channel, order, quote, now)
        return PLACED
    except TransactWriteError as error:
        cancelled = Cancellation.of(error)
        if not cancelled.lost_race:
            raise
        _give_back(order, taken, now)
        if cancelled.failed("order"):  # the same key, placed meanwhile
            return REPEATED
        refusal = channel.refusal(cancelled, order, quote)
        if refusal is not None:
            raise refusal from None
        return AGAIN


def place(channel, member_id, idempotency_key, request, clock=system_clock):
    """Places the order through the channel once per Idempotency-Key: (order, created)."""
    order_id = order_id_for(f"{member_id}#{idempotency_key}")
    request_hash = request_hash_of({name: value for name, value in request.items()
                                    if name not in channel.unkeyed})
    earlier = repeat(order_id, request_hash)
    if earlier is not None:
        return earlier, False
    quote = ticket = None
    try:
        for _ in retry.attempts(channel.attempts):
            now = clock.now()
            quote = (quote and channel.replan(quote, now)) or channel.quote(member_id, request,
                                                                            now)
            order = new_order(order_id, member_id, request, quote, now)
            order.request_hash = request_hash
            try:
                ticket = holds.hold(order, now, ticket)
            except TransactWriteError as error:
                if not Cancellation.of(error).lost_race:
                    raise
                continue
            outcome = _attempt(channel, order, quote, now)
            if outcome == PLACED:
                return order, True
            if outcome == REPEATED:  # the order placed meanwhile stands on the ticket
                return repeat(order_id, request_hash), False
    except DomainError:
        if ticket is not None:
            holds.release(member_id, order_id, ticket)
        raise
    if ticket is not None:
        holds.release(member_id, order_id, ticket)
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
                      cursor=cursor, scan_index_forward=False, load=load_orders)


def store_orders(store_id, day, status, limit, cursor, clock=system_clock):
    """One store-day of the index, its shards read together: the cost is that day's orders
    at most. A status filter applies to the page read (a page may hold fewer)."""
    from chalicelib.core.pagination import merged_query_page

    day_key = f"{store_id}#{day}" if day else _day(store_id, clock.now())

    def load(keys):
        orders = load_orders(keys)
        return [order for order in orders if not status or order.status == status]

    return merged_query_page(Order.by_store_day,
                             [f"{day_key}#{shard}" for shard in range(STORE_DAY_SHARDS)],
                             "created_key", order_view, "orders", limit=limit, cursor=cursor,
                             load=load)
