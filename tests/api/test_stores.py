import json

import pytest

from tests.conftest import JSON, STORE_A, body_of


def test_admin_opens_a_store_that_shoppers_then_find(client, admin):
    store = {"store_id": "store-test-wujiaochang", "name": "鱼塘 五角场店",
             "ownership": "franchise", "city": "上海", "address": "上海市杨浦区淞沪路 8 号",
             "lat": 31.3005, "lng": 121.5138, "opening_hours": "00:00-23:59"}
    created = client.http.post("/admin/stores", headers={**admin, **JSON}, body=json.dumps(store))
    assert created.status_code == 201
    again = client.http.post("/admin/stores", headers={**admin, **JSON}, body=json.dumps(store))
    assert again.status_code == 409

    found = body_of(client.http.get("/stores?lat=31.3010&lng=121.5140&radius_m=1000"))["stores"]

    assert [(s["store_id"], s["ownership"]) for s in found] == [(store["store_id"], "franchise")]
    assert 0 < found[0]["distance_m"] < 100


def test_moving_a_store_moves_it_in_the_search(client, admin):
    client.http.post("/admin/stores", headers={**admin, **JSON}, body=json.dumps({
        "store_id": "store-test-moving", "name": "搬家店", "ownership": "direct", "city": "上海",
        "address": "旧址", "lat": 31.10, "lng": 121.30, "opening_hours": "00:00-23:59"}))

    moved = client.http.put("/admin/stores/store-test-moving", headers={**admin, **JSON},
                            body=json.dumps({"lat": 31.50, "lng": 121.80, "address": "新址"}))

    assert moved.status_code == 200
    near_old = body_of(client.http.get("/stores?lat=31.10&lng=121.30&radius_m=2000"))["stores"]
    near_new = body_of(client.http.get("/stores?lat=31.50&lng=121.80&radius_m=2000"))["stores"]
    assert "store-test-moving" not in [s["store_id"] for s in near_old]
    assert [s["store_id"] for s in near_new] == ["store-test-moving"]


@pytest.mark.parametrize("query", ["lat=91&lng=121", "lat=31&lng=121&radius_m=50000",
                                   "lat=abc&lng=121", "lng=121"])
def test_bad_searches_are_400(client, query):
    response = client.http.get(f"/stores?{query}")

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "validation_error"


def test_a_store_by_id(client):
    assert body_of(client.http.get(f"/stores/{STORE_A}"))["city"] == "上海"
    assert client.http.get("/stores/nowhere").status_code == 404


def test_a_shopper_chooses_the_store_they_buy_from(client, signed_in):
    headers, session = signed_in
    assert session["member"]["current_store_id"] is None

    chosen = client.http.put("/members/me/store", headers={**headers, **JSON},
                             body=json.dumps({"store_id": STORE_A}))

    assert chosen.status_code == 200
    assert body_of(client.http.get("/members/me", headers=headers))["current_store_id"] == STORE_A
    assert client.http.put("/members/me/store", headers={**headers, **JSON},
                           body=json.dumps({"store_id": "nowhere"})).status_code == 404


def test_a_search_near_the_pole_is_refused_not_a_crash(client):
    response = client.http.get("/stores?lat=-87&lng=-87&radius_m=5000")

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "validation_error"


@pytest.mark.parametrize("lat, lng", [(31.2, -6.8217755226416935e-171), (5e-324, 121.5),
                                      (-1e-131, 1e-129)])
def test_a_store_at_a_tiny_coordinate_is_kept_to_the_tenth_of_a_metre(client, admin, lat, lng):
    """DynamoDB keeps no number of magnitude below 1e-130; a coordinate is worth 6 decimals."""
    store_id = f"store-test-tiny-{abs(hash((lat, lng))) % 10 ** 8}"
    created = client.http.post("/admin/stores", headers={**admin, **JSON}, body=json.dumps({
        "store_id": store_id, "name": "零度店", "ownership": "direct", "city": "上海",
        "address": "赤道", "lat": lat, "lng": lng, "opening_hours": "00:00-23:59"}))

    assert created.status_code == 201, created.body
    assert (body_of(created)["lat"], body_of(created)["lng"]) == (round(lat, 6), round(lng, 6))
    moved = client.http.put(f"/admin/stores/{store_id}", headers={**admin, **JSON},
                            body=json.dumps({"lat": lng if abs(lng) <= 90 else 0.1, "lng": lat}))
    assert moved.status_code == 200, moved.body
    assert body_of(client.http.get(f"/stores/{store_id}"))["lng"] == round(lat, 6)
