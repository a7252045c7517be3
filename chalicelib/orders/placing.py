"""Previewing and placing orders.

Placing an order is one DynamoDB transaction: the Idempotency-Key, the order (PENDING_PAYMENT),
each line's stock taken with a condition that it stays at or above zero (and its audit entry),
the coupon used, the points that pay part of it, and the member's holds (within the limits of
unpaid orders and units, holds.py). It all lands or none of it does; a race lost on the
member's points is read again and retried, one lost on stock, coupon or a hold is refused.
"""
import hashlib
import json
import random
import time
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.coupons import wallet as coupons
from chalicelib.orders import holds, pricing
from chalicelib.orders.models import IdempotencyKey, Order
from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.clock import utc_text
from chalicelib.core.ids import new_id
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.db.cursors import MINUTE

PENDING_PAYMENT, PAID, CLOSED = "PENDING_PAYMENT", "PAID", "CLOSED"
SHIPPED, COMPLETED, REFUNDED = "SHIPPED", "COMPLETED", "REFUNDED"
IDEMPOTENCY_HOURS = 48
ATTEMPTS = 20


def _lines(store_id, items, fulfilment, level):
    """Each requested SKU as sold in the store, and where its stock is taken from."""
    from chalicelib.catalog.models import CENTRAL_WAREHOUSE
    from chalicelib.catalog.products import offers

    quantities = {}
    for item in items:
        quantities[item["sku_id"]] = quantities.get(item["sku_id"], 0) + item["quantity"]
    found = offers(store_id, list(quantities), level)
    lines = []
    for sku_id, quantity in quantities.items():
        if sku_id not in found:
            raise DomainError("not_found", f"SKU {sku_id} is not sold here.")
        product, sku, offer = found[sku_id]
        if fulfilment == "cloud_shelf" and not product.cloud_shelf:
            raise DomainError("validation_error",
                              f"{product.name} is not on the cloud shelf; pick it up or have "
                              f"the store deliver it.")
        lines.append({"sku_id": sku_id, "product_id": product.product_id,
                      "name": product.name, "specs": sku.specs.as_dict(),
                      "quantity": quantity, "unit_price_fen": offer["price_fen"]})
    stock_from = CENTRAL_WAREHOUSE if fulfilment == "cloud_shelf" else store_id
    return lines, stock_from


def _breakdown(member, request, now):
    from chalicelib.catalog.stores import get_store
    from chalicelib.members import loyalty
    from chalicelib.members import program as loyalty_program

    store = get_store(request["store_id"])
    fulfilment = request.get("fulfilment", "pickup")
    if fulfilment == "pickup" and not store.offers_pickup:
        raise DomainError("validation_error", "This store does not offer pickup.")
    if fulfilment == "delivery" and not store.delivery_radius_m:
        raise DomainError("validation_error", "This store does not deliver.")
    program = loyalty_program.current()
    level = loyalty.current_level(member, program)
    lines, stock_from = _lines(store.store_id, request["items"], fulfilment, level)
    coupon = None
    if request.get("member_coupon_id"):
        coupon = coupons.usable(member.member_id, request["member_coupon_id"])
    try:
        breakdown = pricing.price(lines, level=level, program=program, store_id=store.store_id,
                                  channel="mall", fulfilment=fulfilment, now=now,
                                  coupon=coupon, points_balance=member.points_balance,
                                  wanted_points=request.get("points", 0))
    except pricing.PricingError as exc:
        raise DomainError(exc.code, str(exc)) from None
    return breakdown, stock_from


def member_of(member_id):
    from chalicelib.members.accounts import get_member

    return get_member(member_id)


def preview(member_id, request, clock=system_clock):
    breakdown, _ = _breakdown(member_of(member_id), request, clock.now())
    return breakdown


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


def new_order(order_id, member, request, breakdown, stock_from, now, pay_minutes=None):
    pay_by = now + timedelta(minutes=pay_minutes or settings.order_pay_minutes)
    return Order(
        order_id, member_id=member.member_id, openid=member.openid,
        store_id=request["store_id"], channel=breakdown["channel"],
        fulfilment=breakdown["fulfilment"], stock_from=stock_from, status=PENDING_PAYMENT,
        breakdown=breakdown, total_fen=breakdown["total_fen"], points_used=breakdown["points"],
        member_coupon_id=breakdown["member_coupon_id"], guide_id=member.guide_id,
        address=request.get("address"), created_at=now,
        created_key=f"{utc_text(now)}#{order_id}", store_day=store_day(request["store_id"], now),
        pay_by=pay_by, pending_minute=pay_by.strftime(MINUTE), held=True)


def store_day(store_id, moment):
    from chalicelib.catalog.stores import SHANGHAI

    return f"{store_id}#{moment.astimezone(SHANGHAI).strftime('%Y-%m-%d')}"


def add_order_in(writes, key, request_hash, order, now):
    """The Idempotency-Key and the new order: the first two items of an order's transaction."""
    writes.save(IdempotencyKey(key, request_hash=request_hash, order_id=order.order_id,
                               expires_at=now + timedelta(hours=IDEMPOTENCY_HOURS)),
                condition=IdempotencyKey.key.does_not_exist())
    writes.save(order, condition=Order.order_id.does_not_exist())


def _write(member, key, request_hash, order, now):
    """The order's one transaction. Items, in order: key, order, then per line its stock and
    its audit entry, then the coupon, then the points (member, marker, ledger entry), then
    the member's holds."""
    from chalicelib.catalog import stock
    from chalicelib.members import points

    breakdown = order.breakdown
    with transaction() as writes:
        add_order_in(writes, key, request_hash, order, now)
        for line in breakdown["lines"]:
            stock.take_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                          f"order {order.order_id}", order.member_id, now)
        if order.member_coupon_id:
            coupons.use_in(writes, order.member_id, order.member_coupon_id, order.order_id)
        if order.points_used:
            points.change_in(writes, member, -order.points_used, "checkout", order.order_id,
                             now)
        holds.hold_in(writes, order, now)


def _why_refused(codes, order):
    """Turns the failed condition of a cancelled order transaction into the shopper's answer;
    None when the race was lost on something that a retry reads again."""
    lines = order.breakdown["lines"]
    stock_items = range(2, 2 + 2 * len(lines), 2)
    for index, line in zip(stock_items, lines):
        if codes[index] == "ConditionalCheckFailed":
            return DomainError("insufficient_stock", f"Not enough {line['name']} left.")
    coupon_index = 2 + 2 * len(lines)
    if order.member_coupon_id and codes[coupon_index] == "ConditionalCheckFailed":
        return DomainError("coupon_unusable", "This coupon has been used.")
    return None


def _short_of_stock(order):
    """After a lost race on a hot SKU: refuse at once if what is left cannot cover the order,
    rather than retry against stock that is gone."""
    from chalicelib.catalog.models import StoreStock

    lines = order.breakdown["lines"]
    left = {item.sku_id: item.quantity for item in StoreStock.batch_get(
        [(order.stock_from, line["sku_id"]) for line in lines], consistent_read=True)}
    for line in lines:
        if left.get(line["sku_id"], 0) < line["quantity"]:
            return DomainError("insufficient_stock", f"Not enough {line['name']} left.")
    return None


def place(member_id, idempotency_key, request, clock=system_clock):
    """Places the order once per Idempotency-Key: (order, created)."""
    key = f"{member_id}#{idempotency_key}"
    request_hash = request_hash_of(request)
    earlier = repeat(key, request_hash)
    if earlier is not None:
        return earlier, False
    order_id = new_id("o")
    for attempt in range(ATTEMPTS):
        now = clock.now()
        member = member_of(member_id)
        breakdown, stock_from = _breakdown(member, request, now)
        order = new_order(order_id, member, request, breakdown, stock_from, now)
        try:
            _write(member, key, request_hash, order, now)
            return order, True
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes[0] == "ConditionalCheckFailed":  # the same key, placed meanwhile
                return repeat(key, request_hash), False
            refusal = (_why_refused(codes, order) or holds.refusal(codes, order)
                       or _short_of_stock(order))
            if refusal is not None:
                raise refusal from None
            if not {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
                raise
        time.sleep(random.uniform(0, min(0.25, 0.004 * 2 ** attempt)))
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
