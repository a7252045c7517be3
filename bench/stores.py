"""Nearest-store search with 500 stores in 5 cities against 5,000 stores in 50 cities, side by
side in one run. Each city has the same 100 stores around it in both worlds and the shoppers
stand in the first 5 cities, so any difference is what the other 45 cities cost (nothing)."""
import os
import random
import statistics
import time

from bench.members import local_stack

STORES_PER_CITY = 100
ROUNDS, QUERIES_PER_ROUND = 6, 40


def _cities(count):
    rng = random.Random(count)
    return [(rng.uniform(20, 45), rng.uniform(100, 125)) for _ in range(count)]


def _build(prefix, cities):
    from chalicelib.catalog.models import Store
    from chalicelib.db.tables import create_missing_tables

    os.environ["TABLE_PREFIX"] = prefix
    create_missing_tables()
    rng = random.Random(1)
    with Store.batch_write() as batch:
        for c, (lat, lng) in enumerate(cities):
            for n in range(STORES_PER_CITY):
                store = Store(f"c{c}-s{n}", name=f"c{c}-s{n}", ownership="direct", city=f"c{c}",
                              address="-", opening_hours="00:00-23:59")
                store.locate(lat + rng.uniform(-0.15, 0.15), lng + rng.uniform(-0.15, 0.15))
                batch.save(store)


def _time_queries(prefix, shoppers):
    from chalicelib.catalog.stores import nearest

    os.environ["TABLE_PREFIX"] = prefix
    nearest(*shoppers[0], 5_000)  # reconnect to this world's tables outside the timing
    timings = []
    for lat, lng in shoppers:
        started = time.perf_counter()
        nearest(lat, lng, 5_000, 10)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def run():
    small, large = _cities(5), _cities(5) + _cities(50)[5:]
    with local_stack():
        _build("yutang-bench-500-", small)
        _build("yutang-bench-5000-", large)
        rng = random.Random(2)
        timings = {"500": [], "5000": []}
        for _ in range(ROUNDS):
            shoppers = [(lat + rng.uniform(-0.1, 0.1), lng + rng.uniform(-0.1, 0.1))
                        for lat, lng in (rng.choice(small) for _ in range(QUERIES_PER_ROUND))]
            for world in ("500", "5000"):
                timings[world] += _time_queries(f"yutang-bench-{world}-", shoppers)
    return {
        "nearest_store_p50_ms_500_stores": round(statistics.median(timings["500"]), 2),
        "nearest_store_p50_ms_5000_stores": round(statistics.median(timings["5000"]), 2),
    }
