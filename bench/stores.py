"""Nearest-store search with 500 stores in 5 cities against 5,000 stores in 50 cities, side by
side in one run. Each city has the same 100 stores around it in both worlds and the shoppers
stand in the first 5 cities, so any difference is what the other 45 cities cost (nothing).

Then a signed-in member's first page of a category (20 products, 2 SKUs each, some on the
cloud shelf) in a store, through the API, in a catalog of 2,000 products."""
import os
import random
import statistics
import time
from datetime import datetime, timezone

from bench.members import counting_dynamodb_requests, local_stack

STORES_PER_CITY = 100
ROUNDS, QUERIES_PER_ROUND = 6, 40
CATEGORIES, PRODUCTS_PER_CATEGORY, LISTINGS = 20, 100, 200


def _cities(count):
    rng = random.Random(count)
    return [(rng.uniform(20, 45), rng.uniform(100, 125)) for _ in range(count)]


def _build(prefix, cities):
    from chalicelib.catalog.models import Store
    from chalicelib.tables import create_missing_tables

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


def _build_catalog():
    from chalicelib.catalog.models import (CENTRAL_WAREHOUSE, Category, Product, Sku, StoreStock, sort_key)

    os.environ["TABLE_PREFIX"] = "yutang-bench-catalog-"
    from chalicelib.tables import create_missing_tables

    create_missing_tables()
    with Category.batch_write() as categories, Product.batch_write() as products, \
            Sku.batch_write() as skus, StoreStock.batch_write() as stock:
        for c in range(CATEGORIES):
            categories.save(Category(f"cat{c}", name=f"cat{c}", sort_key=sort_key(c, f"cat{c}")))
            for p in range(PRODUCTS_PER_CATEGORY):
                product_id = f"c{c}-p{p}"
                sku_ids = [f"{product_id}-a", f"{product_id}-b"]
                product = Product(product_id, category_id=f"cat{c}", name=product_id,
                                  sort_order=p, sku_ids=sku_ids, cloud_shelf=p % 3 == 0)
                product.place()
                products.save(product)
                for n, sku_id in enumerate(sku_ids):
                    skus.save(Sku(sku_id, product_id=product_id, base_price_fen=1000 + n))
                    stock.save(StoreStock("bench-store", sku_id, quantity=p % 2 * 5))
                    stock.save(StoreStock(CENTRAL_WAREHOUSE, sku_id, quantity=50))


def _time_product_list():
    from chalice.test import Client

    import app as yutang
    from chalicelib.catalog.models import Store
    from chalicelib.members import sessions
    from chalicelib.members.models import Member

    os.environ["TABLE_PREFIX"] = "yutang-bench-catalog-"
    store = Store("bench-store", name="bench", ownership="direct", city="-", address="-",
                  opening_hours="00:00-23:59")
    store.locate(31.2, 121.4)
    store.save()
    Member("bench-member", openid="bench-openid", assigned_level="gold",
           created_at=datetime.now(timezone.utc)).save()
    headers = {"Authorization": f"Bearer {sessions.start('bench-member')['access_token']}"}
    timings = []
    with Client(yutang.app) as client:
        for n in range(LISTINGS + 1):
            url = f"/stores/bench-store/products?category_id=cat{n % CATEGORIES}&limit=20"
            started = time.perf_counter()
            response = client.http.get(url, headers=headers)
            if n:  # the first call connects; containers keep their connections
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.body
        with counting_dynamodb_requests() as counted:
            client.http.get(url, headers=headers)
    return timings, len(counted)


def run():
    small, large = _cities(5), _cities(5) + _cities(50)[5:]
    with local_stack():
        _build_catalog()
        product_list, product_list_requests = _time_product_list()
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
        "product_list_p50_ms": round(statistics.median(product_list), 2),
        "product_list_dynamodb_requests": product_list_requests,
    }
