"""Nearest stores from the geohash cells, checked against brute force over every store."""
import random
import uuid
from datetime import datetime, timezone

import pytest

from chalicelib.core.clock import FixedClock

CITIES = {"上海": (31.23, 121.47), "北京": (39.90, 116.40), "广州": (23.13, 113.26),
          "成都": (30.57, 104.07), "哈尔滨": (45.80, 126.53), "三亚": (18.25, 109.51)}
NOON_IN_SHANGHAI = FixedClock(datetime(2026, 5, 1, 4, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def many_stores(local_services):
    from chalicelib.catalog.models import Store

    rng = random.Random(7)
    run = uuid.uuid4().hex[:6]
    with Store.batch_write() as batch:
        for n in range(360):
            city, (lat, lng) = rng.choice(list(CITIES.items()))
            store = Store(f"gen-{run}-{n}", name=f"店{n}", ownership="direct", city=city,
                          address="-", opening_hours=rng.choice(["09:00-22:00", "00:00-23:59",
                                                                 "22:00-06:00"]))
            store.locate(lat + rng.uniform(-0.2, 0.2), lng + rng.uniform(-0.2, 0.2))
            batch.save(store)
    return rng


def brute_force(lat, lng, radius_m, limit, open_only, clock):
    """Every store in the table (a Scan: test only), measured one by one."""
    from chalicelib.catalog import geo, stores
    from chalicelib.catalog.models import Store

    hits = []
    for store in Store.scan():
        distance = geo.distance_m(lat, lng, store.lat, store.lng)
        if distance <= radius_m and store.status == "active" and (
                not open_only or stores.is_open(store.opening_hours, clock.now())):
            hits.append((distance, store.store_id))
    return [store_id for _, store_id in sorted(hits)[:limit]]


@pytest.mark.parametrize("radius_m", [1_500, 4_000, 12_000, 19_000])
def test_nearest_matches_brute_force(many_stores, radius_m):
    from chalicelib.catalog.stores import nearest

    for _ in range(15):
        lat, lng = random.choice(list(CITIES.values()))
        lat, lng = lat + many_stores.uniform(-0.2, 0.2), lng + many_stores.uniform(-0.2, 0.2)
        for open_only in (True, False):
            found = nearest(lat, lng, radius_m, 20, include_closed=not open_only,
                            clock=NOON_IN_SHANGHAI)
            assert [s["store_id"] for s in found] == brute_force(
                lat, lng, radius_m, 20, open_only, NOON_IN_SHANGHAI)
            distances = [s["distance_m"] for s in found]
            assert distances == sorted(distances) and all(d <= radius_m for d in distances)


def test_opening_hours_decide_open_now():
    from chalicelib.catalog.stores import is_open

    at = lambda hour: datetime(2026, 5, 1, hour, tzinfo=timezone.utc)  # noqa: E731 (UTC+8)
    assert is_open("09:00-22:00", at(4)) and not is_open("09:00-22:00", at(15))
    assert is_open("22:00-06:00", at(15)) and not is_open("22:00-06:00", at(4))


def test_only_stores_with_the_sku_in_stock(local_services):
    from chalicelib.catalog.models import StoreStock
    from chalicelib.catalog.stores import nearest
    from devtools.seed import STORES

    _, _, _, _, lat, lng = STORES[0]
    sku = f"sku-{uuid.uuid4().hex[:6]}"
    StoreStock(STORES[0][0], sku, quantity=3).save()
    StoreStock(STORES[1][0], sku, quantity=0).save()

    found = nearest(lat, lng, 10_000, 10, sku_id=sku, clock=NOON_IN_SHANGHAI)

    assert [s["store_id"] for s in found] == [STORES[0][0]]
