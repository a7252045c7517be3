"""The catalog as ops build it and as a shopper sees it in one store: order and pages, the
store's price and the member's price, and where each SKU ships from (store or cloud shelf)."""
import json
import uuid

import pytest

from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, new_staff, sign_in


def _id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _post(client, path, headers, body):
    return client.http.post(path, headers={**headers, **JSON}, body=json.dumps(body))


def _put(client, path, headers, body):
    return client.http.put(path, headers={**headers, **JSON}, body=json.dumps(body))


@pytest.fixture
def category(client, admin):
    created = _post(client, "/admin/categories", admin,
                    {"category_id": _id("cat"), "name": "新品", "sort_order": 50})
    assert created.status_code == 201, created.body
    return body_of(created)["category_id"]


def _product(client, admin, category, prices=(1000,), **fields):
    product_id = _id("p")
    created = _post(client, "/admin/products", admin, {
        "product_id": product_id, "category_id": category, "name": f"商品 {product_id}",
        "skus": [{"sku_id": f"{product_id}-{n}", "specs": {"size": str(n)},
                  "base_price_fen": price} for n, price in enumerate(prices)],
        **fields})
    assert created.status_code == 201, created.body
    return body_of(created)


def _stock(store_id, sku_id, quantity):
    from chalicelib.catalog import stock

    stock.set_quantity(store_id, sku_id, quantity, "delivery", "test")


def _detail(client, store_id, product_id, headers=None):
    response = client.http.get(f"/stores/{store_id}/products/{product_id}", headers=headers or {})
    assert response.status_code == 200, response.body
    return body_of(response)


def _shelf_pages(client, store_id, category, limit, headers=None):
    pages, cursor = [], None
    while True:
        url = f"/stores/{store_id}/products?category_id={category}&limit={limit}"
        response = client.http.get(url + (f"&cursor={cursor}" if cursor else ""),
                                   headers=headers or {})
        assert response.status_code == 200, response.body
        page = body_of(response)
        pages.append([p["product_id"] for p in page["products"]])
        cursor = page["next_cursor"]
        if not cursor:
            return pages


def test_a_category_pages_through_its_products_in_display_order(client, admin, category):
    made = [_product(client, admin, category, sort_order=order)["product_id"]
            for order in (5, 1, 4, 2, 3, 7, 6)]
    off = made[3]
    assert _put(client, f"/admin/products/{off}", admin, {"on_sale": False}).status_code == 200

    pages = _shelf_pages(client, STORE_A, category, limit=2)

    listed = [product_id for page in pages for product_id in page]
    expected = [made[i] for i in (1, 4, 2, 0, 6, 5)]  # sort orders 1, 3, 4, 5, 6, 7
    assert listed == expected
    assert all(len(page) <= 2 for page in pages)
    assert client.http.get(f"/stores/{STORE_A}/products/{off}").status_code == 404


def test_categories_list_in_the_order_ops_gave(client, admin):
    first = body_of(_post(client, "/admin/categories", admin,
                          {"name": "最前", "sort_order": 0}))["category_id"]
    moved = body_of(_post(client, "/admin/categories", admin,
                          {"name": "挪后", "sort_order": 0}))["category_id"]
    _put(client, f"/admin/categories/{moved}", admin, {"sort_order": 99_000})

    names = [c["category_id"] for c in body_of(client.http.get("/categories"))["categories"]]

    assert names.index(first) < names.index("cat-tea") < names.index(moved)


def test_a_member_sees_their_levels_price_and_a_visitor_the_stores(client, admin, category):
    from chalicelib.members.models import Member

    product = _product(client, admin, category, prices=(12_345,))
    sku = product["skus"][0]["sku_id"]
    _stock(STORE_A, sku, 4)
    gold_headers, session = sign_in(client, WeChatUser(_id("gold")))
    Member(session["member"]["member_id"]).update(actions=[Member.assigned_level.set("gold")])

    visitor = _detail(client, STORE_A, product["product_id"])["skus"][0]
    gold = _detail(client, STORE_A, product["product_id"], gold_headers)

    assert (visitor["price_fen"], visitor["member_price_fen"]) == (12_345, 12_345)
    assert gold["member_level"]["code"] == "gold"
    assert gold["skus"][0]["member_price_fen"] == 12_345 - 12_345 * 5 // 100 == 11_728
    listed = body_of(client.http.get(f"/stores/{STORE_A}/products?category_id={category}",
                                     headers=gold_headers))["products"]
    assert [(p["price_fen"], p["member_price_fen"]) for p in listed] == [(12_345, 11_728)]


def test_a_forged_token_is_refused_even_where_visitors_are_welcome(client):
    response = client.http.get(f"/stores/{STORE_A}/products/p-oolong",
                               headers={"Authorization": "Bearer forged"})

    assert response.status_code == 401


def test_a_franchise_store_prices_its_own_way_and_a_direct_store_cannot(client, admin, category):
    product = _product(client, admin, category, prices=(2000, 3000))
    cheap, dear = (sku["sku_id"] for sku in product["skus"])
    for store_id in (STORE_A, STORE_B):
        _stock(store_id, cheap, 5)
        _stock(store_id, dear, 5)
    franchise_manager, _ = new_staff(client, "store_manager", STORE_B)
    direct_manager, _ = new_staff(client, "store_manager", STORE_A)

    assert _put(client, f"/stores/{STORE_B}/prices/{dear}", franchise_manager,
                {"price_fen": 1500}).status_code == 200
    refused = _put(client, f"/stores/{STORE_A}/prices/{dear}", direct_manager,
                   {"price_fen": 1500})

    assert refused.status_code == 409
    assert [s["price_fen"] for s in _detail(client, STORE_B, product["product_id"])["skus"]] == \
        [2000, 1500]
    assert [s["price_fen"] for s in _detail(client, STORE_A, product["product_id"])["skus"]] == \
        [2000, 3000]
    listed = body_of(client.http.get(f"/stores/{STORE_B}/products?category_id={category}"))
    assert listed["products"][0]["price_fen"] == 1500  # the lowest price in this store

    assert client.http.delete(f"/stores/{STORE_B}/prices/{dear}",
                              headers=franchise_manager).status_code == 200
    assert _detail(client, STORE_B, product["product_id"])["skus"][1]["price_fen"] == 3000


def test_the_cloud_shelf_sells_from_the_warehouse_what_the_store_has_not_got(
        client, admin, category):
    from chalicelib.catalog.models import CENTRAL_WAREHOUSE

    cloud = _product(client, admin, category, prices=(5000, 6000), cloud_shelf=True)
    local_only = _product(client, admin, category, prices=(700,))
    on_hand, from_warehouse = (sku["sku_id"] for sku in cloud["skus"])
    _stock(STORE_A, on_hand, 2)
    _stock(CENTRAL_WAREHOUSE, from_warehouse, 30)
    _stock(CENTRAL_WAREHOUSE, local_only["skus"][0]["sku_id"], 30)

    skus = _detail(client, STORE_A, cloud["product_id"])["skus"]
    plain = _detail(client, STORE_A, local_only["product_id"])["skus"]

    assert [(s["fulfilment"], s["available"]) for s in skus] == [("store", 2),
                                                                 ("cloud_shelf", 30)]
    assert [(s["fulfilment"], s["available"]) for s in plain] == [("sold_out", 0)]
    listed = {p["product_id"]: p for p in body_of(client.http.get(
        f"/stores/{STORE_B}/products?category_id={category}"))["products"]}
    assert listed[cloud["product_id"]]["fulfilment"] == "cloud_shelf"
    assert listed[cloud["product_id"]]["price_fen"] == 6000  # the one SKU one can buy there
    assert listed[local_only["product_id"]]["fulfilment"] == "sold_out"


def test_a_product_in_a_missing_category_or_with_a_taken_sku_is_not_written(
        client, admin, category):
    from chalicelib.catalog.models import Product

    taken = _product(client, admin, category)["skus"][0]["sku_id"]
    lost, clashing = _id("p"), _id("p")

    no_category = _post(client, "/admin/products", admin, {
        "product_id": lost, "category_id": "cat-nosuch", "name": "x",
        "skus": [{"base_price_fen": 100}]})
    clash = _post(client, "/admin/products", admin, {
        "product_id": clashing, "category_id": category, "name": "x",
        "skus": [{"base_price_fen": 100}, {"sku_id": taken, "base_price_fen": 100}]})

    assert no_category.status_code == 404
    assert clash.status_code == 409 and taken in body_of(clash)["error"]["message"]
    assert Product.count(lost) == 0 and Product.count(clashing) == 0


def test_a_sku_added_later_is_sold_at_its_price(client, admin, category):
    product = _product(client, admin, category)
    added = _post(client, f"/admin/products/{product['product_id']}/skus", admin,
                  {"specs": {"size": "XL"}, "base_price_fen": 4200})
    assert added.status_code == 201
    _stock(STORE_A, body_of(added)["sku_id"], 1)
    _put(client, f"/admin/skus/{body_of(added)['sku_id']}", admin, {"base_price_fen": 3900})

    skus = _detail(client, STORE_A, product["product_id"])["skus"]

    assert [(s["specs"], s["price_fen"], s["fulfilment"]) for s in skus][-1] == (
        {"size": "XL"}, 3900, "store")


def test_the_demo_brand_sells_its_gift_box_from_the_warehouse_only(client):
    detail = _detail(client, STORE_A, "p-snack-gift")

    assert detail["cloud_shelf"] is True
    assert {s["fulfilment"] for s in detail["skus"]} == {"cloud_shelf"}
