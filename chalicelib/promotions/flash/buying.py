"""Buying in a flash sale: POST /flash-sales/{id}/orders.

The clock decides whether the sale is on (a sale whose units the window job has not moved
yet when it starts moves them itself). One DynamoDB transaction: the Idempotency-Key, the
order at the flash price (channel flash_sale), units taken from the shards on condition
they have them, the member's units in the sale on condition they stay within the limit, and
the member's holds of unpaid orders (checkout/holds.py).
A buyer starts at a random shard with units and takes what it lacks from the next. When
every shard is empty the answer is "sold out" after reads only: it costs no writes.
"""
import random
import time

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.promotions import hotstock, listings as promotions
from chalicelib.orders import holds, placing as orders, pricing
from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.core.ids import new_id
from chalicelib.db.base import cancellation_codes, transaction
from chalicelib.errors import DomainError
from chalicelib.promotions.flash.models import FlashPurchases, FlashSale

ATTEMPTS = 30
KEY = 0  # the first item of an order's transaction


def _sold_out():
    return DomainError("sold_out", "Sold out.")


def _live_sale(sale_id, clock):
    from chalicelib.promotions.flash import sales, window

    try:
        sale = FlashSale.get(sale_id)
    except DoesNotExist:
        raise DomainError("not_found", f"No flash sale {sale_id}.") from None
    now = clock.now()
    if now < sale.starts_at:
        raise DomainError("flash_sale_not_live", "This sale has not started.")
    if now >= sale.closes_at:
        raise DomainError("flash_sale_not_live", "This sale is over.")
    if sale.stocked is None:
        sale = window.run_steps(sales.get(sale_id), clock)
    return sale


def _write(key, request_hash, order, sale, takes, member_id, quantity, now):
    """Items, in order: the key, the order, one per shard taken from, the member's units in
    the sale, the member's holds."""
    sku_id = order.breakdown["lines"][0]["sku_id"]
    bought = FlashPurchases.units
    with transaction() as writes:
        orders.add_order_in(writes, key, request_hash, order, now)
        hotstock.take_in(writes, f"{sale.sale_id}#{sku_id}", takes)
        writes.update(FlashPurchases(f"{sale.sale_id}#{member_id}"),
                      actions=[bought.add(quantity)],
                      condition=bought.does_not_exist()
                      | (bought <= sale.per_member_limit - quantity))
        holds.hold_in(writes, order, now)


def buy(member_id, sale_id, idempotency_key, request, clock=system_clock):
    """Places the flash-sale order once per Idempotency-Key: (order, created)."""
    from chalicelib.members import loyalty
    from chalicelib.members import program as loyalty_program

    key = f"{member_id}#{idempotency_key}"
    request_hash = orders.request_hash_of({"flash_sale_id": sale_id, **request})
    earlier = orders.repeat(key, request_hash)
    if earlier is not None:
        return earlier, False
    sale = _live_sale(sale_id, clock)
    now = clock.now()
    if sale.stores and request["store_id"] not in sale.stores:
        raise DomainError("validation_error", "This sale does not run in this store.")
    quantity = request["quantity"]
    if quantity > sale.per_member_limit:
        raise DomainError("flash_sale_limit",
                          f"At most {sale.per_member_limit} per member in this sale.")
    pool = f"{sale.sale_id}#{request['sku_id']}"
    takes = hotstock.plan_takes(pool, sale.shard_count, quantity)
    if not takes:
        raise _sold_out()
    member = orders.member_of(member_id)
    program = loyalty_program.current()
    fulfilment = promotions.fulfilment_for(sale.stock_from, request)
    line = promotions.priced_line(sale.items, request["sku_id"], quantity, "flash_price_fen",
                                  "sale")
    breakdown = pricing.price([line],
                              level=loyalty.current_level(member, program), program=program,
                              store_id=request["store_id"], channel="flash_sale",
                              fulfilment=fulfilment, now=now)
    order = orders.new_order(new_id("o"), member, {**request, "fulfilment": fulfilment},
                             breakdown, sale.stock_from, now, settings.flash_pay_minutes)
    order.flash_sale_id = sale.sale_id
    for attempt in range(ATTEMPTS):
        order.hot_takes = {str(shard): units for shard, units in takes.items()}
        try:
            _write(key, request_hash, order, sale, takes, member_id, quantity, now)
            return order, True
        except TransactWriteError as error:
            codes = cancellation_codes(error)
        if codes[KEY] == "ConditionalCheckFailed":  # the same key, placed meanwhile
            return orders.repeat(key, request_hash), False
        refusal = holds.refusal(codes, order)
        if refusal is not None:
            raise refusal from None
        if codes[2 + len(takes)] == "ConditionalCheckFailed":  # the member's units in the sale
            raise DomainError("flash_sale_limit",
                              f"At most {sale.per_member_limit} per member in this sale.")
        if "ConditionalCheckFailed" not in codes:  # a race on an item: a little later
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        takes = hotstock.plan_takes(pool, sale.shard_count, quantity)  # one ran out: read again
        if not takes:
            raise _sold_out()
    raise DomainError("conflict", "Too many buyers at once; try again.")


def give_back_in(writes, order, now):
    """An unpaid flash order's units: back to their shard while the sale has not given its
    units back (a condition on the sale), else to regular stock; and the member's limit."""
    from chalicelib.catalog import stock

    sale = FlashSale.get(order.flash_sale_id, consistent_read=True)
    line = order.breakdown["lines"][0]
    if sale.returned is None:
        writes.condition_check(FlashSale, sale.sale_id,
                               condition=FlashSale.returned.does_not_exist())
        hotstock.put_back_in(writes, f"{sale.sale_id}#{line['sku_id']}", order.hot_takes)
    else:
        stock.put_back_in(writes, order.stock_from, line["sku_id"], line["quantity"],
                          f"flash order {order.order_id} not paid", order.member_id, now)
    writes.update(FlashPurchases(f"{sale.sale_id}#{order.member_id}"),
                  actions=[FlashPurchases.units.add(-line["quantity"])])
