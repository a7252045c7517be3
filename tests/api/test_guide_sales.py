"""What a guide earns: attributed orders, month totals and commission, counted once however
often checkout reports a payment or a refund, and kept to the guide and their store."""
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from tests.conftest import STORE_A, STORE_B, body_of, new_staff

# 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Shanghai: a December sale.
LATE_NOVEMBER_UTC = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
MID_NOVEMBER = datetime(2026, 11, 15, 4, 0, tzinfo=timezone.utc)


def _order():
    return f"o-{uuid.uuid4().hex[:10]}"


def _guide(client, store_id=STORE_A):
    headers, session = new_staff(client, "guide", store_id)
    return headers, session["member"]["member_id"]


def test_a_sale_reported_many_times_at_once_counts_once(client):
    from chalicelib.guides import commissions as attribution

    headers, guide_id = _guide(client)
    order = _order()

    def report(_):
        return attribution.record_sale(guide_id, order, "m-1", STORE_A, "mall", 12_345,
                                       MID_NOVEMBER, rate_bp=300)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(report, range(8)))

    assert sorted(results, key=str) == [370] + [None] * 7  # 3% of 123.45 yuan, rounded down
    totals = body_of(client.http.get("/guides/me/performance?month=2026-11", headers=headers))
    assert (totals["orders"], totals["sales_fen"], totals["commission_fen"]) == (1, 12_345, 370)


def test_the_guide_lists_the_months_orders_newest_first_in_shanghai_months(client):
    from chalicelib.guides import commissions as attribution

    headers, guide_id = _guide(client)
    november = [_order() for _ in range(3)]
    for day, order in enumerate(november, start=10):
        attribution.record_sale(guide_id, order, "m-1", STORE_A, "mall", 1000,
                                MID_NOVEMBER.replace(day=day))
    december = _order()
    attribution.record_sale(guide_id, december, "m-2", STORE_A, "live", 2000, LATE_NOVEMBER_UTC)

    pages, cursor = [], None
    while True:
        url = "/guides/me/orders?month=2026-11&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = body_of(client.http.get(url, headers=headers))
        pages.append([o["order_id"] for o in page["orders"]])
        if not (cursor := page["next_cursor"]):
            break
    in_december = body_of(client.http.get("/guides/me/orders?month=2026-12", headers=headers))

    assert [o for p in pages for o in p] == november[::-1]
    assert [o["order_id"] for o in in_december["orders"]] == [december]
    assert in_december["orders"][0]["channel"] == "live"


def test_refunds_take_back_their_share_of_commission_once_each(client):
    from chalicelib.guides import commissions as attribution

    headers, guide_id = _guide(client)
    order = _order()
    attribution.record_sale(guide_id, order, "m-1", STORE_A, "mall", 10_000, MID_NOVEMBER,
                            rate_bp=500)

    def refund(refund_id, amount):
        return attribution.record_refund(guide_id, order, MID_NOVEMBER, refund_id, amount)

    with ThreadPoolExecutor(max_workers=6) as pool:
        taken = list(pool.map(lambda n: refund(f"r{n % 2}", 3_000), range(6)))
    rest = refund("r2", 99_999)  # more than is left: only what is left goes back

    assert sorted(t for t in taken if t is not None) == [150, 150]
    assert rest == 200
    totals = body_of(client.http.get("/guides/me/performance?month=2026-11", headers=headers))
    assert (totals["sales_fen"], totals["refunded_fen"], totals["commission_fen"]) == (
        10_000, 10_000, 0)
    sale = body_of(client.http.get("/guides/me/orders?month=2026-11", headers=headers))["orders"]
    assert (sale[0]["refunded_fen"], sale[0]["commission_fen"]) == (10_000, 0)


def test_a_guide_sees_only_their_own_sales_and_a_manager_only_their_stores_guides(client):
    from chalicelib.guides import commissions as attribution

    mine, my_id = _guide(client)
    theirs, their_id = _guide(client, STORE_B)
    attribution.record_sale(their_id, _order(), "m-1", STORE_B, "mall", 5000, MID_NOVEMBER)
    manager_a, _ = new_staff(client, "store_manager", STORE_A)
    manager_b, _ = new_staff(client, "store_manager", STORE_B)

    assert body_of(client.http.get("/guides/me/orders?month=2026-11",
                                   headers=mine))["orders"] == []
    theirs_seen = client.http.get(f"/stores/{STORE_B}/guides/{their_id}/performance"
                                  "?month=2026-11", headers=manager_b)
    across = client.http.get(f"/stores/{STORE_A}/guides/{their_id}/performance?month=2026-11",
                             headers=manager_a)
    assert body_of(theirs_seen)["sales_fen"] == 5000
    assert across.status_code == 404
    assert client.http.get(f"/stores/{STORE_B}/guides/{their_id}/performance",
                           headers=manager_a).status_code == 403
    assert json.loads(client.http.get("/guides/me/performance?month=2026-13",
                                      headers=theirs).body)["error"]["code"] == \
        "validation_error"


def _recruit(client, recruiter_headers):
    """A guide recruited by another (they earn a second-level commission on the recruit)."""
    from tests.conftest import JSON, WeChatUser, sign_in

    code = body_of(client.http.post("/guides/me/invites", headers={**recruiter_headers, **JSON},
                                    body="{}"))["code"]
    headers, session = sign_in(client, WeChatUser(f"recruit-{code}"))
    claimed = client.http.post("/staff/invites/claim", headers={**headers, **JSON},
                               body=json.dumps({"code": code}))
    assert claimed.status_code == 200, claimed.body
    return headers, session["member"]["member_id"]


def _bind(member_id, guide_id):
    from chalicelib.members.models import Member

    Member(member_id).update(actions=[Member.guide_id.set(guide_id)])


def _earned(guide_id, order_id):
    from chalicelib.guides.models import GuideSale

    return [(s.tier, s.commission_fen) for s in GuideSale.query(guide_id)
            if s.order_id == order_id]


def test_nobody_earns_on_a_guides_own_purchase_and_a_recruiter_buying_earns_no_tier_two(
        client, served_app, sandbox_url):
    """The guide bound to themselves (a binding made before such links were refused)."""
    from tests.api.test_checkout import _sku
    from tests.api.test_refunds import _paid

    recruiter_headers, recruiter_id = _guide(client)
    guide_headers, guide_id = _recruit(client, recruiter_headers)
    _bind(guide_id, guide_id)
    _bind(recruiter_id, guide_id)

    own = _paid(client, sandbox_url, guide_headers, _sku(price_fen=10_000, stock=1))
    recruiters = _paid(client, sandbox_url, recruiter_headers, _sku(price_fen=10_000, stock=1))

    assert (_earned(guide_id, own["order_id"]), _earned(recruiter_id, own["order_id"])) == (
        [], [])
    assert (_earned(guide_id, recruiters["order_id"]),
            _earned(recruiter_id, recruiters["order_id"])) == ([(1, 300)], [])
    listed = body_of(client.http.get("/guides/me/orders", headers=guide_headers))["orders"]
    assert [o["order_id"] for o in listed] == [recruiters["order_id"]]


def test_a_removed_guide_earns_nothing_on_a_customer_the_move_missed(
        client, admin, shopper, served_app, sandbox_url):
    from tests.api.test_checkout import _sku
    from tests.api.test_refunds import _paid

    headers, member_id = shopper
    recruiter_headers, recruiter_id = _guide(client)
    guide_headers, guide_id = _recruit(client, recruiter_headers)
    assert client.http.delete(f"/admin/staff/{guide_id}", headers=admin).status_code == 200
    _bind(member_id, guide_id)  # bound again while the removal ran, say

    order = _paid(client, sandbox_url, headers, _sku(price_fen=10_000, stock=1))

    assert (_earned(guide_id, order["order_id"]), _earned(recruiter_id, order["order_id"])) == (
        [], [])
