"""Live sessions against DynamoDB Local: live prices only with this member's token for this
session while it is live, orders attributed to the host (paid through the WeChat sandbox),
live-only units as hot stock moved in when it goes live and given back exactly when it ends,
and figures counted once per paid order however often WeChat notifies."""
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _member, _sku
from tests.api.test_flash_sales import brand_admin
from tests.api.test_payments import _notify_xml, _pay_in_wechat, _send_notify
from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff, subscribe

LIVE_PRICE = 5_900  # the test SKUs' brand price is 10,000 (or 5,000); the floor is half of it
ROOM = {"kind": "miniprogram_live", "id": "room-1"}


def _guide(client, store_id=STORE_A):
    headers, session = new_staff(client, "guide", store_id)
    return headers, session["member"]["member_id"]


def _session(host_id, sku, quantity=10, starts_in=timedelta(minutes=-1),
             lasts=timedelta(hours=1), go_live=True, **more):
    from chalicelib.promotions.live import sessions

    now = datetime.now(timezone.utc)
    session = sessions.create({"title": "直播测试", "room": ROOM,
                               "lineup": [{"sku_id": sku, "live_price_fen": LIVE_PRICE,
                                           "quantity": quantity}],
                               "starts_at": (now + starts_in).isoformat(),
                               "ends_at": (now + starts_in + lasts).isoformat(), **more},
                              brand_admin(), host_id)
    return sessions.start(session) if go_live else session


def _token(member_id, session, clock=None):
    from chalicelib.promotions.live import sessions

    return sessions.issue_token(member_id, session.session_id,
                                *([clock] if clock else []))[0]


def _buy(member_id, session, sku, token, quantity=1, clock=None):
    from chalicelib.promotions.live import buying

    request = {"store_id": STORE_A, "sku_id": sku, "quantity": quantity}
    if token is not None:
        request["live_token"] = token
    return buying.buy(member_id, session.session_id, _id("key"), request,
                      **({"clock": clock} if clock else {}))


def _refusal(call):
    from chalicelib.errors import DomainError

    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def _shards_left(session, sku):
    from chalicelib.promotions.hotstock import left_exactly

    return left_exactly(f"{session.session_id}#{sku}")


def test_a_live_price_needs_this_members_token_for_this_live_session(client):
    from chalicelib.promotions.live import sessions

    _, host = _guide(client)
    sku = _sku(price_fen=5_000, stock=20)
    session, other_session = _session(host, sku, 5), _session(host, sku, 5)
    member, someone_else = _member(), _member()
    three_hours_ago = FixedClock(datetime.now(timezone.utc) - timedelta(hours=3))

    assert _refusal(lambda: _buy(member, session, sku, None)) == "live_token_invalid"
    assert _refusal(lambda: _buy(member, session, sku, "forged.token")) == "live_token_invalid"
    assert _refusal(lambda: _buy(member, session, sku, _token(member, other_session))) \
        == "live_token_invalid"
    assert _refusal(lambda: _buy(member, session, sku, _token(someone_else, session))) \
        == "live_token_invalid"
    assert _refusal(lambda: _buy(member, session, sku, _token(member, session,
                                                              three_hours_ago))) \
        == "live_token_expired"
    # The session's clock: a live price is refused at its scheduled end, whatever the status.
    token = _token(member, session)
    assert _refusal(lambda: _buy(member, session, sku, token,
                                 clock=FixedClock(session.ends_at))) == "live_session_not_live"

    order, created = _buy(member, session, sku, token)
    assert created and order.total_fen == LIVE_PRICE and order.channel == "live"
    assert order.live_session_id == session.session_id and order.guide_id == host

    sessions.end(sessions.get(session.session_id))
    assert _refusal(lambda: _buy(member, session, sku, token)) == "live_session_not_live"
    scheduled = _session(host, sku, 1, starts_in=timedelta(hours=1), go_live=False)
    assert _refusal(lambda: _buy(member, scheduled, sku, _token(member, scheduled))) \
        == "live_session_not_live"


def test_live_orders_are_attributed_to_the_host(client, shopper, served_app, sandbox_url,
                                                monkeypatch):
    from chalicelib.guides.models import GuideSale
    from chalicelib.members.models import Member

    host_headers, host = _guide(client)
    _, bound_guide = _guide(client)
    headers, member_id = shopper
    Member(member_id).update(actions=[Member.guide_id.set(bound_guide)])
    sku = _sku(price_fen=5_000, stock=10)
    now = datetime.now(timezone.utc)
    created = client.http.post("/guides/me/live-sessions", headers={**host_headers, **JSON},
                               body=json.dumps({
                                   "title": "新茶直播", "room": ROOM,
                                   "lineup": [{"sku_id": sku, "live_price_fen": LIVE_PRICE,
                                               "quantity": 8}],
                                   "starts_at": (now + timedelta(minutes=30)).isoformat(),
                                   "ends_at": (now + timedelta(hours=2)).isoformat()}))
    assert created.status_code == 201, created.body
    session = body_of(created)
    assert (session["status"], session["stores"], session["approval"]) == (
        "SCHEDULED", [STORE_A], "pending")
    path = f"/guides/me/live-sessions/{session['session_id']}"
    manager, _ = new_staff(client, "store_manager", STORE_A)
    approved = client.http.post(
        f"/stores/{STORE_A}/live-sessions/{session['session_id']}/approve", headers=manager)
    assert approved.status_code == 200, approved.body
    other_guide_headers, _ = _guide(client)
    assert client.http.post(f"{path}/start", headers=other_guide_headers).status_code == 404
    assert body_of(client.http.post(f"{path}/start", headers=host_headers))["status"] == "LIVE"
    pinned = client.http.post(f"{path}/pin", headers={**host_headers, **JSON},
                              body=json.dumps({"sku_id": sku}))
    assert pinned.status_code == 200, pinned.body
    shown = body_of(client.http.get(f"/live-sessions/{session['session_id']}"))
    assert shown["status"] == "LIVE" and shown["host"]["guide_id"] == host
    assert shown["pinned"]["sku_id"] == sku and shown["pinned"]["live_price_fen"] == LIVE_PRICE
    assert shown["lineup"][0]["remaining"] == 8
    assert session["session_id"] in [s["session_id"] for s in body_of(client.http.get(
        f"/live-sessions?store_id={STORE_A}"))["live_sessions"]]

    entered = client.http.post(f"/live-sessions/{session['session_id']}/enter",
                               headers=headers)
    assert entered.status_code == 200, entered.body
    order_path = f"/live-sessions/{session['session_id']}/orders"
    request = {"store_id": STORE_A, "sku_id": sku, "quantity": 2}
    refused = client.http.post(order_path, headers={**headers, **JSON, "Idempotency-Key": "l0"},
                               body=json.dumps(request))
    assert refused.status_code == 403 and body_of(refused)["error"]["code"] == \
        "live_token_invalid"
    placed = client.http.post(order_path, headers={**headers, **JSON, "Idempotency-Key": "l1"},
                              body=json.dumps({**request,
                                               "live_token": body_of(entered)["live_token"]}))
    assert placed.status_code == 201, placed.body
    order = body_of(placed)
    assert order["total_fen"] == 2 * LIVE_PRICE and order["guide_id"] == host
    assert order["live_session_id"] == session["session_id"] and order["channel"] == "live"
    started = client.http.post(f"/orders/{order['order_id']}/pay", headers={**headers, **JSON},
                               body="{}")
    assert started.status_code == 200, started.body
    _pay_in_wechat(sandbox_url, order["order_id"])

    sales = list(GuideSale.query(host))
    assert [(s.order_id, s.channel, s.paid_fen) for s in sales] == [
        (order["order_id"], "live", 2 * LIVE_PRICE)]
    assert list(GuideSale.query(bound_guide)) == []
    figures = body_of(client.http.get(f"{path}/figures", headers=host_headers))
    assert (figures["viewers"], figures["orders"], figures["buyers"], figures["gmv_fen"],
            figures["conversion"]) == (1, 1, 1, 2 * LIVE_PRICE, 1.0)
    assert figures["units"][0]["units"] == 2

    # Configured the other way, the shopper's bound guide earns on live orders.
    from chalicelib.promotions.live import sessions

    monkeypatch.setenv("LIVE_COMMISSION_TO", "bound_guide")
    live = sessions.get(session["session_id"])
    order_b, _ = _buy(member_id, live, sku, _token(member_id, live))
    assert order_b.guide_id == bound_guide


def test_50_buyers_at_once_for_10_live_units_make_exactly_10_orders(client):
    from chalicelib.catalog.stock import current
    from chalicelib.errors import DomainError

    _, host = _guide(client)
    sku = _sku(stock=15)
    session = _session(host, sku, quantity=10, expected_peak_per_s=3_200)
    assert session.shard_count == 4 and current(STORE_A, sku) == 5
    members = [_member() for _ in range(50)]
    tokens = {member: _token(member, session) for member in members}

    def attempt(member):
        try:
            order, _ = _buy(member, session, sku, tokens[member])
            return order.order_id
        except DomainError as refusal:
            return refusal.code

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, members))

    orders = [outcome for outcome in outcomes if outcome.startswith("o")]
    assert len(orders) == 10, Counter(outcomes)
    assert set(outcomes) - set(orders) == {"sold_out"}
    assert _shards_left(session, sku) == 0 and current(STORE_A, sku) == 5


def test_going_live_and_ending_move_live_units_exactly(client):
    from chalicelib.catalog.stock import current
    from chalicelib.orders import closing as lifecycle
    from chalicelib.promotions.live import sessions

    _, host = _guide(client)
    sku = _sku(stock=40)
    session = _session(host, sku, quantity=30, starts_in=timedelta(minutes=10),
                       lasts=timedelta(minutes=30), go_live=False)
    assert current(STORE_A, sku) == 40
    sessions.run_job(clock=FixedClock(session.starts_at - timedelta(seconds=30)))
    assert sessions.get(session.session_id).status == "SCHEDULED"
    at_start = FixedClock(session.starts_at)
    sessions.run_job(clock=at_start)
    session = sessions.get(session.session_id)
    assert session.status == "LIVE" and session.stocked == {sku: 30}
    assert current(STORE_A, sku) == 10 and _shards_left(session, sku) == 30

    orders = [_buy(member, session, sku, _token(member, session, at_start), 3, at_start)[0]
              for member in [_member() for _ in range(4)]]  # 12 units
    # An unpaid order closing while the session is live gives its units to the session.
    lifecycle.close_unpaid(orders[0], "expired", clock=at_start)
    assert _shards_left(session, sku) == 21

    after_end = FixedClock(session.ends_at + timedelta(minutes=1))
    sessions.run_job(clock=after_end)
    sessions.run_job(clock=after_end)  # a second run gives nothing more
    session = sessions.get(session.session_id)
    assert session.status == "ENDED" and session.returned == {sku: 21}
    assert current(STORE_A, sku) == 10 + 21 and _shards_left(session, sku) == 0
    # One that closes after the end gives its units to regular stock.
    lifecycle.close_unpaid(orders[1], "expired", clock=after_end)
    assert current(STORE_A, sku) == 10 + 21 + 3 and _shards_left(session, sku) == 0
    assert _refusal(lambda: sessions.end(session)) == "live_session_over"


def test_figures_count_each_paid_order_once_when_notifies_repeat(client, served_app):
    from chalicelib.promotions.live import figures, sessions

    _, host = _guide(client)
    sku = _sku(stock=10)
    session = _session(host, sku, quantity=5)
    buyer, viewer = _member(), _member()
    for member in (buyer, viewer, buyer):  # entering twice is one viewer
        sessions.enter(member, session.session_id)
    first, _ = _buy(buyer, session, sku, _token(buyer, session), quantity=2)
    second, _ = _buy(buyer, session, sku, _token(buyer, session))
    for order in (first, second, first):  # the first notify comes twice
        xml = _notify_xml(order.order_id, order.total_fen)
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda _: _send_notify(served_app, xml), range(2)))
        assert all("SUCCESS" in answer for answer in answers), answers

    counted = figures.figures_view(sessions.get(session.session_id))
    assert (counted["viewers"], counted["orders"], counted["buyers"], counted["gmv_fen"],
            counted["conversion"]) == (2, 2, 1, 3 * LIVE_PRICE, 0.5)
    assert counted["units"] == [{"sku_id": sku, "name": "测试茶", "units": 3}]


def test_admins_schedule_sessions_for_a_guide_and_see_their_figures(client, admin):
    _, host = _guide(client, STORE_B)
    sku = _sku(stock=5, store_id=STORE_B)
    now = datetime.now(timezone.utc)
    body = {"title": "品牌直播", "room": {"kind": "channels", "id": "sph-1"},
            "lineup": [{"sku_id": sku, "live_price_fen": 9_900, "quantity": 5}],
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat()}
    not_a_guide = client.http.post("/admin/live-sessions", headers={**admin, **JSON},
                                   body=json.dumps({**body, "host_id": _member()}))
    assert not_a_guide.status_code == 400
    created = client.http.post("/admin/live-sessions", headers={**admin, **JSON},
                               body=json.dumps({**body, "host_id": host}))
    assert created.status_code == 201, created.body
    session = body_of(created)
    assert session["stores"] == [STORE_B] and session["host"]["guide_id"] == host
    assert session["approval"] == "approved"
    figures = client.http.get(f"/admin/live-sessions/{session['session_id']}/figures",
                              headers=admin)
    assert body_of(figures)["orders"] == 0 and body_of(figures)["conversion"] is None
    ended = client.http.post(f"/admin/live-sessions/{session['session_id']}/end",
                             headers=admin)
    assert body_of(ended)["status"] == "ENDED" and body_of(ended)["returned"] == {}


def test_viewers_entering_at_once_are_each_counted_once(client):
    from chalicelib.promotions.live import figures, sessions

    _, host = _guide(client)
    session = _session(host, _sku(stock=3), quantity=1)
    members = [_member() for _ in range(30)]

    with ThreadPoolExecutor(max_workers=30) as pool:
        tokens = list(pool.map(lambda member: sessions.enter(member, session.session_id),
                               members * 2))

    assert len({entered["live_token"] for entered in tokens}) >= 30
    counted = figures.figures_view(sessions.get(session.session_id))
    assert (counted["viewers"], counted["buyers"], counted["conversion"]) == (30, 0, 0.0)


def test_members_who_asked_are_told_once_when_the_session_goes_live(client, sandbox_url):
    import requests

    from chalicelib.promotions.live import sessions
    from chalicelib.members.models import Member
    from chalicelib.notify import service

    _, host_id = _guide(client)
    session = _session(host_id, _sku(stock=5), 5, starts_in=timedelta(minutes=30),
                       go_live=False)
    asked, silent = _member(), _member()
    for _ in range(2):  # two credits: still one message
        subscribe(asked, "live_starting")
    sessions.ask_reminder(asked, session.session_id)
    sessions.ask_reminder(asked, session.session_id)  # asking twice is one reminder

    sessions.start(session)
    service.run_job()
    service.run_job()

    def sent(member_id):
        return requests.get(f"{sandbox_url}/__sandbox__/messages",
                            params={"touser": Member.get(member_id).openid}, timeout=5).json()

    told = sent(asked)
    assert len(told) == 1 and told[0]["data"]["thing1"]["value"] == "直播测试"
    assert sent(silent) == []


def test_a_host_buying_in_their_own_session_earns_nothing(client, served_app):
    from chalicelib.orders.models import Order
    from chalicelib.guides.models import GuideSale

    _, host = _guide(client)
    sku = _sku(stock=2)
    session = _session(host, sku, quantity=2)
    order, _ = _buy(host, session, sku, _token(host, session))
    assert "SUCCESS" in _send_notify(served_app, _notify_xml(order.order_id, order.total_fen))

    assert Order.get(order.order_id).status == "PAID" and order.guide_id == host
    assert [s for s in GuideSale.query(host) if s.order_id == order.order_id] == []
