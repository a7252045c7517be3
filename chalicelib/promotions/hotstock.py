"""Hot stock: a promotion's units split over shard items, for the moments when thousands of
shoppers want one SKU at once (flash sales, live rooms).

Each order takes its units from a shard by one conditional update of its own, outside any
transaction (orders/takes.py): 1 write unit, never cancelled by another order's write. One
item takes at most about 1,000 write units a second (a partition's limit), so a pool's units
are spread over `shard_count(expected peak)` items, one for each WRITES_PER_SHARD_S orders a
second (four fifths of that limit: room for the give-backs of orders not paid), at most
MAX_SHARDS: a sale's ceiling is shards × WRITES_PER_SHARD_S orders a second (README). A buyer
reads the shards (no write), starts at a random one with units and takes what it lacks from
the next, each take conditioned on the shard having it. A pool is named "<owner id>#<sku
id>".
"""
import math
import random

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE

from chalicelib.db.base import Model, TableMeta

WRITES_PER_SHARD_S = 800
MAX_SHARDS = 20


class StockShard(Model):
    class Meta(TableMeta):
        table = "stock-shards"
        # Its changes show each order's take (last_take), for orders/takes.py to check.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    pool = UnicodeAttribute(hash_key=True)  # <owner id>#<sku id>
    shard = NumberAttribute(range_key=True)
    remaining = NumberAttribute(default=0)
    last_take = UnicodeAttribute(null=True)  # the last order's take: <order>#<attempt>#<units>


def shard_count(expected_peak_per_s, units):
    return max(1, min(MAX_SHARDS, math.ceil(expected_peak_per_s / WRITES_PER_SHARD_S), units))


def split_evenly(units, shards):
    """Each shard's units, as even as they go (the first shards one more): no shard runs out
    long before the others."""
    return [units // shards + (1 if shard < units % shards else 0) for shard in range(shards)]


def fill_in(writes, pool, units, shards):
    """Adds the pool's shards, the units split as evenly as they go, to a transaction (named
    shard#<pool>#<shard>)."""
    for shard, share in enumerate(split_evenly(units, shards)):
        writes.save(StockShard(pool, shard, remaining=share), name=f"shard#{pool}#{shard}")


def plan_takes(pool, shards, quantity):
    """{shard: units} that together make the quantity, from shards that (as last read,
    eventually consistent) have units, starting at a random one; {} if they do not hold it."""
    stocked = sorted((item.shard, item.remaining)
                     for item in StockShard.batch_get([(pool, n) for n in range(shards)])
                     if item.remaining > 0)
    if sum(remaining for _, remaining in stocked) < quantity:
        return {}
    return takes_from(stocked, quantity, random.randrange(len(stocked)))


def takes_from(stocked, quantity, start):
    """{shard: units} that make the quantity from the shards with units, [(shard, units)] in
    shard order, taking from the start-th on and going round (they hold the quantity): each
    shard gives all it has until the last, which gives what is still lacking."""
    takes = {}
    for shard, remaining in stocked[start:] + stocked[:start]:
        takes[shard] = min(remaining, quantity - sum(takes.values()))
        if sum(takes.values()) == quantity:
            break
    return takes


def order_takes(pool, takes):
    """An order's units from the shards it planned ({shard: units}), for the kernel to take
    each on its own (orders/takes.py): a shard never goes below zero, and one that has too
    few sends the channel back to plan again."""
    from chalicelib.orders.takes import Take

    return [Take(StockShard, (pool, int(shard)), "remaining", units)
            for shard, units in takes.items()]


def put_back_in(writes, pool, takes):
    for shard, units in takes.items():
        writes.update(StockShard(pool, int(shard)), actions=[StockShard.remaining.add(units)],
                      name=f"shard#{pool}#{shard}")


def drain_in(writes, pool):
    """Empties the pool in a transaction, each shard on condition it still holds what was
    read (a take in between makes the transaction read again), named shard#<pool>#<shard>.
    Returns the units drained."""
    left = 0
    for item in StockShard.query(pool, consistent_read=True):
        if item.remaining:
            writes.update(item, actions=[StockShard.remaining.set(0)],
                          condition=StockShard.remaining == item.remaining,
                          name=f"shard#{pool}#{int(item.shard)}")
            left += item.remaining
    return left


def stock_in(writes, stock_from, items, pool_of, shards, reason, by, now):
    """Each item's units (as many as regular stock has, up to its quantity) leave regular
    stock and fill its pool's shards, in a transaction: {sku_id: units moved}."""
    from chalicelib.catalog import stock

    moved = {}
    for item in items:
        units = min(item["quantity"], stock.current(stock_from, item["sku_id"]))
        moved[item["sku_id"]] = units
        if units:
            stock.take_in(writes, stock_from, item["sku_id"], units, reason, by, now)
        fill_in(writes, pool_of(item["sku_id"]), units, shards)
    return moved


def return_to_stock_in(writes, stock_from, items, pool_of, reason, by, now):
    """Each item's pool emptied (drain_in) and its units back in regular stock, in a
    transaction: {sku_id: units given back}."""
    from chalicelib.catalog import stock

    given = {}
    for item in items:
        left = drain_in(writes, pool_of(item["sku_id"]))
        given[item["sku_id"]] = left
        if left:
            stock.put_back_in(writes, stock_from, item["sku_id"], left, reason, by, now)
    return given


def remaining(pools, shards):
    """Units left in each pool (eventually consistent reads): {pool: units}."""
    left = {pool: 0 for pool in pools}
    for item in StockShard.batch_get([(pool, n) for pool in pools for n in range(shards)]):
        left[item.pool] += item.remaining
    return left


def left_exactly(pool):
    return sum(item.remaining for item in StockShard.query(pool, consistent_read=True))
