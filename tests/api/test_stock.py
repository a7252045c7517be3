import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff

SKU = "p-croissant-box6"


def _new_sku():
    from chalicelib.catalog.models import Sku

    sku_id = f"sku-{uuid.uuid4().hex[:8]}"
    Sku(sku_id, product_id="p-croissant", base_price_fen=6600).save()
    return sku_id


def test_racing_takes_never_go_below_zero_and_the_trail_adds_up(client):
    clerk, _ = new_staff(client, "clerk", STORE_A)
    sku = _new_sku()
    url = f"/stores/{STORE_A}/stock/{sku}"
    assert client.http.put(url, headers={**clerk, **JSON},
                           body=json.dumps({"quantity": 20, "reason": "delivery"})).status_code == 200

    def take_one(n):
        return client.http.post(f"{url}/adjustments", headers={**clerk, **JSON},
                                body=json.dumps({"delta": -1, "reason": f"sold #{n}"})).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(take_one, range(35)))

    assert statuses.count(201) == 20 and statuses.count(409) == 15
    trail = body_of(client.http.get(f"{url}/movements?limit=100", headers=clerk))["movements"]
    assert sum(m["delta"] for m in trail) == 0
    assert len(trail) == 21 and trail[-1]["reason"] == "delivery"
    from chalicelib.catalog.stock import current

    assert current(STORE_A, sku) == 0


def test_a_stocktake_records_the_difference_and_who_did_it(client):
    manager, session = new_staff(client, "store_manager", STORE_B)
    sku = _new_sku()
    url = f"/stores/{STORE_B}/stock/{sku}"
    client.http.post(f"{url}/adjustments", headers={**manager, **JSON},
                     body=json.dumps({"delta": 12, "reason": "delivery"}))

    counted = client.http.put(url, headers={**manager, **JSON},
                              body=json.dumps({"quantity": 9, "reason": "stocktake"}))

    assert body_of(counted)["quantity"] == 9
    latest = body_of(client.http.get(f"{url}/movements", headers=manager))["movements"][0]
    assert (latest["delta"], latest["reason"], latest["by"]) == (
        -3, "stocktake", session["member"]["member_id"])


def test_a_clerk_cannot_touch_another_stores_stock(client):
    clerk_b, _ = new_staff(client, "clerk", STORE_B)

    response = client.http.post(f"/stores/{STORE_A}/stock/{SKU}/adjustments",
                                headers={**clerk_b, **JSON},
                                body=json.dumps({"delta": -1, "reason": "oops"}))

    assert response.status_code == 403
    assert body_of(response)["error"]["code"] == "forbidden"


def test_unknown_skus_and_empty_adjustments_are_refused(client):
    clerk, _ = new_staff(client, "clerk", STORE_A)
    assert client.http.post(f"/stores/{STORE_A}/stock/no-such-sku/adjustments",
                            headers={**clerk, **JSON},
                            body=json.dumps({"delta": 1, "reason": "x"})).status_code == 404
    assert client.http.post(f"/stores/{STORE_A}/stock/{SKU}/adjustments",
                            headers={**clerk, **JSON},
                            body=json.dumps({"delta": 0, "reason": "x"})).status_code == 400
