"""Buying in a live session: POST /live-sessions/{id}/orders (channel live).

Live prices hold only while the session is LIVE (by its status, and never at or after its
scheduled end) and only for a viewer who entered it: the request carries the live token of
this member for this session. One DynamoDB transaction: the Idempotency-Key, the order at the
live price, units taken from the session's shards on condition they have them (as flash
sales take theirs; sold out is decided by reads, without writes), and the member's holds of
unpaid orders (checkout/holds.py). The order carries the session and its host: the host
earns the commission, unless LIVE_COMMISSION_TO is "bound_guide" (then the shopper's bound
guide does, as on any order).
"""
import random
import time

from pynamodb.exceptions import TransactWriteError

from chalicelib.promotions import hotstock, listings as promotions
from chalicelib.orders import holds, placing as orders, pricing
from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.live import sessions
from chalicelib.promotions.live.models import LIVE, SCHEDULED, LiveSession

ATTEMPTS = 30
KEY = 0  # the first item of an order's transaction


def _sold_out():
    return DomainError("sold_out", "Sold out.")


def _live_session(session_id, clock):
    session = sessions.get(session_id, consistent=False)
    if session.status == SCHEDULED:
        raise DomainError("live_session_not_live", "This live session has not started.")
    if session.status != LIVE or clock.now() >= session.ends_at:
        raise DomainError("live_session_not_live", "This live session is over.")
    return session


def _in_lineup(session, sku_id):
    item = next((item for item in session.lineup if item["sku_id"] == sku_id), None)
    if item is None:
        raise DomainError("not_found", f"SKU {sku_id} is not in this live session.")
    return item


def _earner(session, member):
    if settings.live_commission_to == "bound_guide":
        return member.guide_id
    return session.host_id


def _write(key, request_hash, order, session, takes, now):
    """Items, in order: the key, the order, one per shard taken from, the member's holds."""
    sku_id = order.breakdown["lines"][0]["sku_id"]
    with transaction() as writes:
        orders.add_order_in(writes, key, request_hash, order, now)
        hotstock.take_in(writes, sessions.pool(session, sku_id), takes)
        holds.hold_in(writes, order, now)


def buy(member_id, session_id, idempotency_key, request, clock=system_clock):
    """Places the live order once per Idempotency-Key: (order, created). The live token is
    not part of what the key stands for (a retry may carry a fresh one)."""
    from chalicelib.members import loyalty
    from chalicelib.members import program as loyalty_program

    key = f"{member_id}#{idempotency_key}"
    request_hash = orders.request_hash_of(
        {"live_session_id": session_id,
         **{name: value for name, value in request.items() if name != "live_token"}})
    earlier = orders.repeat(key, request_hash)
    if earlier is not None:
        return earlier, False
    sessions.verify_token(request.get("live_token"), member_id, session_id, clock)
    session = _live_session(session_id, clock)
    now = clock.now()
    if request["store_id"] not in session.stores:
        raise DomainError("validation_error", "This live session does not sell in this store.")
    quantity = request["quantity"]
    item = _in_lineup(session, request["sku_id"])
    pool = sessions.pool(session, request["sku_id"])
    takes = hotstock.plan_takes(pool, session.shard_count, quantity)
    if not takes:
        raise _sold_out()
    line = promotions.priced_line(session.lineup, item["sku_id"], quantity, "live_price_fen",
                                  "live session")
    member = orders.member_of(member_id)
    program = loyalty_program.current()
    fulfilment = promotions.fulfilment_for(session.stock_from, request)
    breakdown = pricing.price([line], level=loyalty.current_level(member, program),
                              program=program, store_id=request["store_id"], channel="live",
                              fulfilment=fulfilment, now=now)
    placed = {name: value for name, value in request.items() if name != "live_token"}
    order = orders.new_order(new_id("o"), member, {**placed, "fulfilment": fulfilment},
                             breakdown, session.stock_from, now, settings.flash_pay_minutes)
    order.live_session_id = session.session_id
    order.guide_id = _earner(session, member)
    for attempt in range(ATTEMPTS):
        order.hot_takes = {str(shard): units for shard, units in takes.items()}
        try:
            _write(key, request_hash, order, session, takes, now)
            return order, True
        except TransactWriteError as error:
            codes = cancellation_codes(error)
        if codes[KEY] == "ConditionalCheckFailed":  # the same key, placed meanwhile
            return orders.repeat(key, request_hash), False
        refusal = holds.refusal(codes, order)
        if refusal is not None:
            raise refusal from None
        if "ConditionalCheckFailed" not in codes:  # a race on an item: a little later
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        takes = hotstock.plan_takes(pool, session.shard_count, quantity)  # read again
        if not takes:
            raise _sold_out()
    raise DomainError("conflict", "Too many buyers at once; try again.")


def give_back_in(writes, order, now):
    """An unpaid live order's units: back to their shards while the session has not given
    its units back (a condition on the session), else to regular stock."""
    from chalicelib.catalog import stock

    session = sessions.get(order.live_session_id)
    line = order.breakdown["lines"][0]
    if session.returned is None:
        writes.condition_check(LiveSession, session.session_id,
                               condition=LiveSession.returned.does_not_exist())
        hotstock.put_back_in(writes, sessions.pool(session, line["sku_id"]), order.hot_takes)
    else:
        stock.put_back_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                          f"live order {order.order_id} not paid", order.member_id, now)
