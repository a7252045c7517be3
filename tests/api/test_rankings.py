"""The guides' ranking (导购排行榜), a guide's own month and the campaigns' results (活动效果),
from orders paid through the API and WeChat (the sandbox), as an ops person reads them."""
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from tests.api.test_bindings import _link
from tests.api.test_checkout import _coupon, _id, _sku
from tests.api.test_figures import _day, _store
from tests.api.test_payments import _order, _pay_in_wechat, _post
from tests.api.test_refunds import _paid, _settled
from tests.conftest import (JSON, STORE_A, STORE_B, WeChatUser, body_of, new_staff, sign_in)

PRICE = 3_000


def _guide(client, store_id, name):
    """A guide of the store invited under a name, as an admin invites them."""
    from chalicelib.members import staff

    headers, session = sign_in(client, WeChatUser(f"guide-{uuid.uuid4().hex[:10]}"))
    code = staff.invite("guide", store_id, name, admin_id="test-bootstrap")["code"]
    claimed = client.http.post("/staff/invites/claim", headers={**headers, **JSON},
                               body=json.dumps({"code": code}))
    assert claimed.status_code == 200, claimed.body
    return headers, session["member"]["member_id"]


def _shopper(client):
    headers, session = sign_in(client, WeChatUser(f"shopper-{uuid.uuid4().hex[:10]}"))
    return headers, session["member"]["member_id"]


def _bind(client, shopper_headers, scene):
    answer = client.http.post("/bindings", headers={**shopper_headers, **JSON},
                              body=json.dumps({"scene": scene}))
    assert answer.status_code == 200, answer.body
    return body_of(answer)["action"]


def _get(client, path, headers, status=200, **query):
    answer = client.http.get(f"{path}?{urlencode(query)}" if query else path, headers=headers)
    assert answer.status_code == status, answer.body
    return answer


def _text(answer):
    return answer.body.decode("utf-8") if isinstance(answer.body, bytes) else answer.body


def test_the_stores_guides_rank_by_net_sales_with_customers_bindings_and_commission(
        client, served_app, sandbox_url, admin):
    from chalicelib.config import settings
    from chalicelib.guides import bindings
    from chalicelib.guides.commissions import commission

    store_id = _store()
    sku = _sku(price_fen=PRICE, stock=50, store_id=store_id)
    wang_headers, wang = _guide(client, store_id, "小王")
    li_headers, li = _guide(client, store_id, "小李")
    _, zhang = _guide(client, store_id, "小张")  # works in the store, sells nothing
    manager, _ = new_staff(client, "store_manager", store_id)
    wang_link, li_link = _link(client, wang_headers), _link(client, li_headers)
    first, second, third = (_shopper(client) for _ in range(3))
    assert [_bind(client, headers, scene) for headers, scene in (
        (first[0], wang_link), (second[0], wang_link), (third[0], li_link))] == ["bound"] * 3

    # 小王: three orders from two customers, 12,000; 小李: one of 15,000, 9,000 refunded.
    wang_orders = [_paid(client, sandbox_url, first[0], sku, 2, store_id=store_id),
                   _paid(client, sandbox_url, first[0], sku, 1, store_id=store_id),
                   _paid(client, sandbox_url, second[0], sku, 1, store_id=store_id)]
    li_order = _paid(client, sandbox_url, third[0], sku, 5, store_id=store_id)
    assert {_order(o["order_id"]).guide_id for o in wang_orders} == {wang}
    asked = _post(client, f"/stores/{store_id}/orders/{li_order['order_id']}/refunds", manager,
                  {"reason": "少三件", "lines": [{"sku_id": sku, "quantity": 3}]})
    assert asked.status_code == 201, asked.body
    assert _settled(sandbox_url, li_order["order_id"], body_of(asked)["refund_id"]) == \
        "SUCCESS"
    paid_at = _order(li_order["order_id"]).paid_at
    day, month = _day(paid_at), _day(paid_at)[:7]

    # Opening the link again renews; released by the store and bound again this month, the
    # first customer is still one new binding of 小王's.
    assert _bind(client, first[0], wang_link) == "renewed"
    assert bindings.hand_over(wang, None, by="test") == 2
    assert _bind(client, first[0], wang_link) == "bound"

    rate = settings.guide_commission_bp
    wang_commission = sum(commission(o["total_fen"], rate) for o in wang_orders)
    li_commission = commission(15_000 - 9_000, rate)  # due on what stays paid
    expected = [
        {"rank": 1, "guide_id": wang, "name": "小王", "store_id": store_id, "gmv_fen": 12_000,
         "orders": 3, "refunded_fen": 0, "net_fen": 12_000, "customers_served": 2,
         "new_bindings": 2, "commission_fen": wang_commission},
        {"rank": 2, "guide_id": li, "name": "小李", "store_id": store_id, "gmv_fen": 15_000,
         "orders": 1, "refunded_fen": 9_000, "net_fen": 6_000, "customers_served": 1,
         "new_bindings": 1, "commission_fen": li_commission},
        {"rank": 3, "guide_id": zhang, "name": "小张", "store_id": store_id, "gmv_fen": 0,
         "orders": 0, "refunded_fen": 0, "net_fen": 0, "customers_served": 0,
         "new_bindings": 0, "commission_fen": 0}]
    assert wang_commission > 0 and li_commission > 0

    by_admin = body_of(_get(client, "/admin/reports/guides", admin, month=month,
                            store_id=store_id))
    assert (by_admin["month"], by_admin["distinct_counts"]) == (month, "exact")
    assert by_admin["rows"] == expected
    by_manager = body_of(_get(client, f"/stores/{store_id}/reports/guides", manager,
                              month=month))
    assert by_manager["rows"] == expected

    # The brand's ranking has the guides who sold or bound someone, in the same order.
    brand = body_of(_get(client, "/admin/reports/guides", admin, month=month))["rows"]
    mine = {row["guide_id"]: row for row in brand if row["store_id"] == store_id}
    assert set(mine) == {wang, li}
    assert {key: value for key, value in mine[wang].items() if key != "rank"} == \
        {key: value for key, value in expected[0].items() if key != "rank"}
    assert mine[wang]["rank"] < mine[li]["rank"]
    assert [row["rank"] for row in brand] == sorted(row["rank"] for row in brand)

    csv = _get(client, "/admin/reports/guides", admin, month=month, store_id=store_id,
               format="csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = _text(csv).splitlines()
    assert lines[0] == "\ufeffrank,guide_id,name,store_id,gmv_fen,orders,refunded_fen," \
                       "net_fen,customers_served,new_bindings,commission_fen"
    assert lines[1] == f"1,{wang},小王,{store_id},12000,3,0,12000,2,2,{wang_commission}"
    assert len(lines) == 4

    # Each guide's own month: their row's figures, their rank, and nobody else's row.
    answer = _get(client, "/guides/me/report", wang_headers, month=month)
    report = body_of(answer)
    assert (report["rank"], report["guides_ranked"], report["name"]) == (1, 3, "小王")
    assert report["totals"] == {key: value for key, value in expected[0].items()
                                if key not in ("rank", "guide_id", "name", "store_id")}
    [sold_on] = [row for row in report["days"] if row["orders"]]
    assert sold_on == {"key": day, "orders": 3, "gmv_fen": 12_000, "refunded_fen": 0,
                       "net_fen": 12_000, "customers_served": 2}
    assert report["days"][0]["key"] == f"{month}-01" and report["days"][-1]["key"] >= day
    assert report["channels"] == [{"key": "mall", "orders": 3, "gmv_fen": 12_000,
                                   "refunded_fen": 0, "net_fen": 12_000,
                                   "customers_served": 2}]
    assert li not in _text(answer) and zhang not in _text(answer)
    li_report = body_of(_get(client, "/guides/me/report", li_headers, month=month))
    assert (li_report["rank"], li_report["totals"]["net_fen"]) == (2, 6_000)
    assert sum(row["refunded_fen"] for row in li_report["days"]) == 9_000
    wang_csv = _text(_get(client, "/guides/me/report", wang_headers, month=month,
                          format="csv")).splitlines()
    assert wang_csv[0] == "\ufeffkey,gmv_fen,orders,refunded_fen,net_fen,customers_served," \
                          "new_bindings,commission_fen"
    assert wang_csv[-1] == f"total,12000,3,0,12000,2,2,{wang_commission}"

    # Another month: the store's guides at zero, each ranked 1.
    empty = body_of(_get(client, f"/stores/{store_id}/reports/guides", manager,
                         month="2031-01"))["rows"]
    assert [(row["guide_id"], row["rank"], row["net_fen"]) for row in empty] == sorted(
        [(guide, 1, 0) for guide in (wang, li, zhang)])


def test_flash_sale_coupon_and_live_orders_show_in_the_campaigns_results(
        client, served_app, sandbox_url, admin):
    from chalicelib.coupons import wallet as coupons
    from chalicelib.promotions.flash import sales
    from tests.api.test_flash_sales import FLASH_PRICE, brand_admin
    from tests.api.test_live import LIVE_PRICE, _session

    store_id = _store()
    promoted = _sku(stock=30, store_id=store_id)  # 10,000 a unit
    plain = _sku(price_fen=PRICE, stock=10, store_id=store_id)
    _, host = _guide(client, store_id, "主播小周")
    headers, member_id = _shopper(client)
    watcher, _ = _shopper(client)
    now = datetime.now(timezone.utc)
    sale = sales.create({"name": "排行测试秒杀", "per_member_limit": 2, "stores": [store_id],
                         "items": [{"sku_id": promoted, "flash_price_fen": FLASH_PRICE,
                                    "quantity": 10}],
                         "starts_at": (now - timedelta(minutes=1)).isoformat(),
                         "ends_at": (now + timedelta(hours=1)).isoformat()}, brand_admin())
    bought = client.http.post(f"/flash-sales/{sale.sale_id}/orders",
                              headers={**headers, **JSON, "Idempotency-Key": _id("fs")},
                              body=json.dumps({"store_id": store_id, "sku_id": promoted,
                                               "quantity": 2}))
    assert bought.status_code == 201, bought.body
    flash_order = body_of(bought)["order_id"]
    assert _post(client, f"/orders/{flash_order}/pay", headers).status_code == 200
    _pay_in_wechat(sandbox_url, flash_order)

    coupon = _coupon(name="排行测试券")  # 1,000 off
    mine = coupons.claim(member_id, coupon["coupon_id"])["member_coupon_id"]
    coupon_order = _paid(client, sandbox_url, headers, plain, 1, store_id=store_id,
                         member_coupon_id=mine)
    assert coupon_order["total_fen"] == PRICE - 1_000

    live = _session(host, promoted, stores=[store_id])
    token = body_of(client.http.post(f"/live-sessions/{live.session_id}/enter",
                                     headers=headers))["live_token"]
    assert client.http.post(f"/live-sessions/{live.session_id}/enter",
                            headers=watcher).status_code == 200  # watches, buys nothing
    placed = client.http.post(f"/live-sessions/{live.session_id}/orders",
                              headers={**headers, **JSON, "Idempotency-Key": _id("live")},
                              body=json.dumps({"store_id": store_id, "sku_id": promoted,
                                               "quantity": 1, "live_token": token}))
    assert placed.status_code == 201, placed.body
    live_order = body_of(placed)["order_id"]
    assert _post(client, f"/orders/{live_order}/pay", headers).status_code == 200
    _pay_in_wechat(sandbox_url, live_order)
    assert _order(live_order).status == _order(flash_order).status == "PAID"

    day = _day(_order(live_order).paid_at)
    report = body_of(_get(client, "/admin/reports/campaigns", admin,
                          **{"from": day, "to": day}))
    assert report["distinct_counts"] == "exact" and report["kind"] is None
    rows = {(row["kind"], row["campaign_id"]): row for row in report["rows"]}
    assert rows[("flash_sale", sale.sale_id)] == {
        "kind": "flash_sale", "campaign_id": sale.sale_id, "name": "排行测试秒杀",
        "orders": 1, "units": 2, "gmv_fen": 2 * FLASH_PRICE, "refunded_fen": 0,
        "net_fen": 2 * FLASH_PRICE, "buyers": 1, "new_buyers": 1, "discount_fen": None,
        "reached": None, "conversion": None}
    assert rows[("coupon", coupon["coupon_id"])] == {
        "kind": "coupon", "campaign_id": coupon["coupon_id"], "name": "排行测试券",
        "orders": 1, "units": 1, "gmv_fen": PRICE - 1_000, "refunded_fen": 0,
        "net_fen": PRICE - 1_000, "buyers": 1, "new_buyers": 0, "discount_fen": 1_000,
        "reached": None, "conversion": None}
    assert rows[("live", live.session_id)] == {
        "kind": "live", "campaign_id": live.session_id, "name": "直播测试", "orders": 1,
        "units": 1, "gmv_fen": LIVE_PRICE, "refunded_fen": 0, "net_fen": LIVE_PRICE,
        "buyers": 1, "new_buyers": 0, "discount_fen": None, "reached": 2,
        "conversion": 0.5}
    nets = [row["gmv_fen"] if row["net_fen"] is None else row["net_fen"]
            for row in report["rows"]]
    assert nets == sorted(nets, reverse=True)

    only_coupons = body_of(_get(client, "/admin/reports/campaigns", admin,
                                **{"from": day, "to": day, "kind": "coupon"}))
    assert {row["kind"] for row in only_coupons["rows"]} == {"coupon"}
    assert coupon["coupon_id"] in {row["campaign_id"] for row in only_coupons["rows"]}

    month_first = f"{day[:7]}-01"
    month_last = (datetime.strptime(month_first, "%Y-%m-%d") + timedelta(days=32)) \
        .replace(day=1) - timedelta(days=1)
    whole = body_of(_get(client, "/admin/reports/campaigns", admin,
                         **{"from": month_first, "to": month_last.date().isoformat()}))
    assert whole["distinct_counts"] == "exact"
    assert {(row["kind"], row["campaign_id"]): row for row in whole["rows"]}[
        ("flash_sale", sale.sale_id)] == rows[("flash_sale", sale.sale_id)]
    next_day = (datetime.strptime(day, "%Y-%m-%d") + timedelta(days=1)).date().isoformat()
    assert body_of(_get(client, "/admin/reports/campaigns", admin,
                        **{"from": day, "to": next_day}))["distinct_counts"] == "upper_bound"

    lines = _text(_get(client, "/admin/reports/campaigns", admin,
                       **{"from": day, "to": day, "format": "csv"})).splitlines()
    assert lines[0] == "\ufeffkind,campaign_id,name,orders,units,gmv_fen,refunded_fen," \
                       "net_fen,buyers,new_buyers,discount_fen,reached,conversion"
    assert f"coupon,{coupon['coupon_id']},排行测试券,1,1,2000,0,2000,1,0,1000,," in lines


def test_each_report_is_for_its_roles_only_and_bad_queries_are_refused(client, admin):
    manager, _ = new_staff(client, "store_manager", STORE_A)
    guide, _ = new_staff(client, "guide", STORE_A)
    shopper, _ = _shopper(client)
    month = _day(datetime.now(timezone.utc))[:7]
    days = {"from": f"{month}-01", "to": f"{month}-01"}
    admin_only = [("/admin/reports/guides", {"month": month}),
                  ("/admin/reports/campaigns", days)]
    for path, query in admin_only:
        _get(client, path, admin, **query)
        for someone in (manager, guide, shopper):
            _get(client, path, someone, 403, **query)
        _get(client, path, {}, 401, **query)
    _get(client, f"/stores/{STORE_A}/reports/guides", manager, month=month)
    _get(client, f"/stores/{STORE_A}/reports/guides", admin, month=month)
    for someone in (guide, shopper):
        _get(client, f"/stores/{STORE_A}/reports/guides", someone, 403, month=month)
    _get(client, f"/stores/{STORE_B}/reports/guides", manager, 403, month=month)
    _get(client, "/guides/me/report", guide)  # this month when left out
    for someone in (manager, shopper, admin):
        _get(client, "/guides/me/report", someone, 403)
    # Campaign figures are the brand's, not kept per store: no store route for them.
    _get(client, f"/stores/{STORE_A}/reports/campaigns", manager, 404, **days)

    refused = [(admin, "/admin/reports/guides", {"month": "2026-13"}),
               (manager, f"/stores/{STORE_A}/reports/guides", {"month": "2026-1"}),
               (guide, "/guides/me/report", {"month": "13-2026"}),
               (admin, "/admin/reports/campaigns", {"from": "2026-05-02", "to": "2026-05-01"}),
               (admin, "/admin/reports/campaigns", {**days, "kind": "bargain"}),
               (admin, "/admin/reports/campaigns", {"from": "2026-01-01", "to": "2027-01-02"}),
               (admin, "/admin/reports/campaigns", {"from": "2026-02-30", "to": "2026-03-01"})]
    for headers, path, query in refused:
        error = body_of(_get(client, path, headers, 400, **query))["error"]
        assert error["code"] == "validation_error" and error["message"], (path, query)
    assert body_of(_get(client, "/admin/reports/campaigns", admin,
                        **{"from": "2026-01-01", "to": "2026-12-31",
                           "kind": "reactivation"}))["kind"] == "reactivation"
