"""Hot stock: a promotion's units split over shard items, for the moments when thousands of
shoppers want one SKU at once (flash sales, live rooms).

DynamoDB takes about 1,000 writes a second on one item, and every order writes the stock it
takes, so a pool's units are spread over `shard_count(expected peak)` items, one for each
WRITES_PER_SHARD_S orders a second (half an item's limit, room for bursts), at most
MAX_SHARDS. A buyer reads the shards (no write), starts at a random one with units and takes
what it lacks from the next, each take conditioned on the shard having it. A pool is named
"<owner id>#<sku id>".
"""
import math
import random

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.base import Model, TableMeta

WRITES_PER_SHARD_S = 500
MAX_SHARDS = 20


class StockShard(Model):
    class Meta(TableMeta):
        table = "stock-shards"

    pool = UnicodeAttribute(hash_key=True)  # <owner id>#<sku id>
    shard = NumberAttribute(range_key=True)
    remaining = NumberAttribute(default=0)


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


def take_in(writes, pool, takes):
    """One conditional update per shard taken from (named shard#<pool>#<shard>): it never
    goes below zero."""
    for shard, units in takes.items():
        writes.update(StockShard(pool, int(shard)), actions=[StockShard.remaining.add(-units)],
                      condition=StockShard.remaining >= units, name=f"shard#{pool}#{shard}")


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
