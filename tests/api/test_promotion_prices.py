"""Promotion prices somebody answers for: a guide's live session waits for its store manager
(or an admin) before it can go live or be seen; every promotion price below the brand's
respects the brand's floor, whoever makes it, and the store's pricing rights (a direct store
sells at the brand's price); quantities above the stock they come from are refused."""
import json
from datetime import datetime, timedelta, timezone

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _sku
from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff

BASE = 10_000  # the brand's price of the test SKUs; the default floor is half of it
ROOM = {"kind": "miniprogram_live", "id": "room-approval"}


def _window(starts_in=timedelta(minutes=30), lasts=timedelta(hours=1)):
    now = datetime.now(timezone.utc)
    return {"starts_at": (now + starts_in).isoformat(),
            "ends_at": (now + starts_in + lasts).isoformat()}


def _live(sku, price, quantity=5, **window):
    return {"title": "店播", "room": ROOM, **_window(**window),
            "lineup": [{"sku_id": sku, "live_price_fen": price, "quantity": quantity}]}


def _flash(sku, price, quantity=5):
    return {"name": "店内秒杀", "per_member_limit": 1, **_window(),
            "items": [{"sku_id": sku, "flash_price_fen": price, "quantity": quantity}]}


def _group(sku, price):
    return {"name": "两人团", "group_size": 2, **_window(),
            "items": [{"sku_id": sku, "group_price_fen": price}]}


def _post(client, path, headers, body=None):
    return client.http.post(path, headers={**headers, **JSON},
                            body=json.dumps(body if body is not None else {}))


def _code(response):
    return body_of(response)["error"]["code"]


def _listed(client, store_id):
    return [s["session_id"] for s in body_of(client.http.get(
        f"/live-sessions?store_id={store_id}"))["live_sessions"]]


def test_a_guides_live_session_goes_live_only_once_its_store_manager_approves(client):
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.live import sessions

    guide, _ = new_staff(client, "guide", STORE_B)
    manager, _ = new_staff(client, "store_manager", STORE_B)
    other_manager, _ = new_staff(client, "store_manager", STORE_A)
    sku = _sku(price_fen=BASE, stock=10, store_id=STORE_B)

    one_fen = _post(client, "/guides/me/live-sessions", guide, _live(sku, 1))
    assert one_fen.status_code == 409 and _code(one_fen) == "price_below_floor"
    assert body_of(client.http.get("/guides/me/live-sessions", headers=guide))[
        "live_sessions"] == []

    created = _post(client, "/guides/me/live-sessions", guide, _live(sku, 6_000))
    assert created.status_code == 201, created.body
    session = body_of(created)
    assert (session["status"], session["approval"]) == ("SCHEDULED", "pending")
    session_id = session["session_id"]
    mine = f"/guides/me/live-sessions/{session_id}"
    refused = _post(client, f"{mine}/start", guide)
    assert refused.status_code == 409 and _code(refused) == "live_session_not_approved"
    # Not shown to shoppers, and the job does not start it at its scheduled start.
    assert session_id not in _listed(client, STORE_B)
    assert client.http.get(f"/live-sessions/{session_id}").status_code == 404
    sessions.run_job(clock=FixedClock(datetime.fromisoformat(session["starts_at"])))
    assert sessions.get(session_id).status == "SCHEDULED" and current(STORE_B, sku) == 10

    waiting = client.http.get(f"/stores/{STORE_B}/live-sessions?approval=pending",
                              headers=manager)
    assert waiting.status_code == 200, waiting.body
    assert [(s["session_id"], s["approval"]) for s in body_of(waiting)["live_sessions"]
            if s["session_id"] == session_id] == [(session_id, "pending")]
    store_path = f"/stores/{STORE_B}/live-sessions/{session_id}"
    assert _post(client, f"{store_path}/approve", other_manager).status_code == 403
    assert _post(client, f"/stores/{STORE_A}/live-sessions/{session_id}/approve",
                 other_manager).status_code == 404
    assert _post(client, f"{store_path}/approve", guide).status_code == 403

    approved = _post(client, f"{store_path}/approve", manager)
    assert approved.status_code == 200, approved.body
    assert body_of(approved)["approval"] == "approved"
    again = _post(client, f"{store_path}/approve", manager)
    assert again.status_code == 409 and _code(again) == "conflict"
    assert _post(client, f"{store_path}/reject", manager).status_code == 409
    assert session_id not in [s["session_id"] for s in body_of(client.http.get(
        f"/stores/{STORE_B}/live-sessions?approval=pending", headers=manager))["live_sessions"]]

    assert session_id in _listed(client, STORE_B)
    started = _post(client, f"{mine}/start", guide)
    assert started.status_code == 200, started.body
    assert body_of(started)["status"] == "LIVE" and current(STORE_B, sku) == 5


def test_a_session_never_approved_ends_without_moving_stock_and_a_rejected_one_never_starts(
        client):
    from chalicelib.catalog.stock import current
    from chalicelib.promotions.live import sessions

    guide, _ = new_staff(client, "guide", STORE_B)
    manager, _ = new_staff(client, "store_manager", STORE_B)
    sku = _sku(price_fen=BASE, stock=10, store_id=STORE_B)
    forgotten = body_of(_post(client, "/guides/me/live-sessions", guide, _live(sku, 8_000)))
    rejected = body_of(_post(client, "/guides/me/live-sessions", guide, _live(sku, 8_000)))

    store_path = f"/stores/{STORE_B}/live-sessions/{rejected['session_id']}"
    answer = _post(client, f"{store_path}/reject", manager)
    assert answer.status_code == 200 and body_of(answer)["approval"] == "rejected"
    assert _post(client, f"{store_path}/approve", manager).status_code == 409
    refused = _post(client, f"/guides/me/live-sessions/{rejected['session_id']}/start", guide)
    assert refused.status_code == 409 and _code(refused) == "live_session_not_approved"

    after_end = FixedClock(datetime.fromisoformat(forgotten["ends_at"]) + timedelta(minutes=1))
    sessions.run_job(clock=after_end)
    for session_id in (forgotten["session_id"], rejected["session_id"]):
        ended = sessions.get(session_id)
        assert (ended.status, ended.stocked, ended.returned) == ("ENDED", None, {})
    assert current(STORE_B, sku) == 10


def test_every_promotion_price_below_the_brands_respects_its_floor(client, admin):
    manager, _ = new_staff(client, "store_manager", STORE_B)  # a franchise store's
    sku = _sku(price_fen=BASE, stock=10, store_id=STORE_B)
    flash, group = f"/stores/{STORE_B}/flash-sales", f"/stores/{STORE_B}/group-buys"

    for path, body in ((flash, _flash(sku, 1)), (flash, _flash(sku, 4_999)),
                       (group, _group(sku, 1)), (group, _group(sku, 4_999))):
        refused = _post(client, path, manager, body)
        assert refused.status_code == 409 and _code(refused) == "price_below_floor", path
        assert "5000" in body_of(refused)["error"]["message"]
    assert _post(client, flash, manager, _flash(sku, 5_000)).status_code == 201
    assert _post(client, group, manager, _group(sku, 5_000)).status_code == 201

    # Admins too, until they lower the floor.
    brand_sale = {**_flash(sku, 4_000), "stores": [STORE_B]}
    brand_group = {**_group(sku, 4_000), "stores": [STORE_B]}
    _, host = new_staff(client, "guide", STORE_B)
    brand_live = {**_live(sku, 4_000), "host_id": host["member"]["member_id"]}
    for path, body in (("/admin/flash-sales", brand_sale), ("/admin/group-buys", brand_group),
                       ("/admin/live-sessions", brand_live)):
        assert _code(_post(client, path, admin, body)) == "price_below_floor", path
    assert body_of(client.http.get("/admin/promotion-settings", headers=admin)) == {
        "min_promotion_price_percent": 50}
    for wrong in (0, 101, "40", None):
        assert client.http.put("/admin/promotion-settings", headers={**admin, **JSON},
                               body=json.dumps({"min_promotion_price_percent": wrong})
                               ).status_code == 400, wrong
    lowered = client.http.put("/admin/promotion-settings", headers={**admin, **JSON},
                              body=json.dumps({"min_promotion_price_percent": 40}))
    try:
        assert lowered.status_code == 200 and body_of(lowered) == {
            "min_promotion_price_percent": 40}
        for path, body in (("/admin/flash-sales", brand_sale),
                           ("/admin/group-buys", brand_group),
                           ("/admin/live-sessions", brand_live)):
            assert _post(client, path, admin, body).status_code == 201, path
        assert _code(_post(client, flash, manager, _flash(sku, 3_999))) == "price_below_floor"
    finally:
        client.http.put("/admin/promotion-settings", headers={**admin, **JSON},
                        body=json.dumps({"min_promotion_price_percent": 50}))


def test_a_direct_stores_manager_sells_at_the_brands_price(client, admin):
    manager, _ = new_staff(client, "store_manager", STORE_A)  # STORE_A is a direct store
    guide, _ = new_staff(client, "guide", STORE_A)
    sku = _sku(price_fen=BASE, stock=10, store_id=STORE_A)
    flash, group = f"/stores/{STORE_A}/flash-sales", f"/stores/{STORE_A}/group-buys"

    for path, body in ((flash, _flash(sku, 9_999)), (group, _group(sku, 9_999))):
        refused = _post(client, path, manager, body)
        assert refused.status_code == 409 and _code(refused) == "brand_priced", path
    assert _post(client, flash, manager, _flash(sku, BASE)).status_code == 201
    assert _post(client, group, manager, _group(sku, BASE)).status_code == 201

    session_id = body_of(_post(client, "/guides/me/live-sessions", guide,
                               _live(sku, 6_000)))["session_id"]
    approve = f"/stores/{STORE_A}/live-sessions/{session_id}/approve"
    refused = _post(client, approve, manager)
    assert refused.status_code == 409 and _code(refused) == "brand_priced"
    approved = _post(client, approve, admin)  # the brand prices its direct stores
    assert approved.status_code == 200 and body_of(approved)["approval"] == "approved"
    # At the brand's price the store's manager may approve.
    at_brand = body_of(_post(client, "/guides/me/live-sessions", guide, _live(sku, BASE)))
    assert _post(client, f"/stores/{STORE_A}/live-sessions/{at_brand['session_id']}/approve",
                 manager).status_code == 200


def test_quantities_above_the_stock_they_come_from_are_refused(client, admin):
    manager, _ = new_staff(client, "store_manager", STORE_B)
    guide, _ = new_staff(client, "guide", STORE_B)
    sku = _sku(price_fen=BASE, stock=5, store_id=STORE_B)

    for path, headers, body in (
            (f"/stores/{STORE_B}/flash-sales", manager, _flash(sku, 8_000, quantity=6)),
            ("/guides/me/live-sessions", guide, _live(sku, 8_000, quantity=6)),
            # every store: the units come from the central warehouse, which has none
            ("/admin/flash-sales", admin, {**_flash(sku, 8_000, quantity=1), "stores": None})):
        refused = _post(client, path, headers, body)
        assert refused.status_code == 409 and _code(refused) == "insufficient_stock", path

    created = _post(client, f"/stores/{STORE_B}/flash-sales", manager, _flash(sku, 8_000, 5))
    assert created.status_code == 201, created.body
    edited = client.http.put(f"/stores/{STORE_B}/flash-sales/{body_of(created)['sale_id']}",
                             headers={**manager, **JSON},
                             body=json.dumps(_flash(sku, 8_000, quantity=6)))
    assert edited.status_code == 409 and _code(edited) == "insufficient_stock"
    assert _post(client, "/guides/me/live-sessions", guide,
                 _live(sku, 8_000, quantity=5)).status_code == 201
