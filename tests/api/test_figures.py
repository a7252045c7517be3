"""Retail figures, kept as orders are paid and refunds succeed: each counts once, whatever
the stream delivers again, late or halved."""
import uuid
from datetime import datetime, timedelta, timezone

from chalicelib.core.clock import SHANGHAI, FixedClock
from tests.api.test_checkout import _sku
from tests.api.test_payments import _order
from tests.api.test_refunds import _paid


def _store():
    from chalicelib.catalog import stores

    store_id = f"store-fig-{uuid.uuid4().hex[:8]}"
    stores.create_store({"store_id": store_id, "name": "鱼塘 数据店", "ownership": "direct",
                         "city": "上海", "address": "数据路 1 号", "lat": 31.2, "lng": 121.4,
                         "opening_hours": "00:00-23:59"})
    return store_id


def _figure(period, scope):
    from chalicelib.figures.models import Figure
    from chalicelib.figures.names import COUNTERS

    try:
        item = Figure.get(period, f"{scope}#", consistent_read=True)
    except Figure.DoesNotExist:
        return {name: 0 for name in COUNTERS}
    return {name: getattr(item, name) for name in COUNTERS}


def _day(moment):
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def _paid_change(order_id):
    from chalicelib.db.streams import MODIFY, Change

    return Change("orders", MODIFY, {"order_id": order_id}, {"status": "PENDING_PAYMENT"},
                  {"status": "PAID"}, "1")


def _refund_change(order_id, refund_fen):
    """The orders stream's record of the order's last refund settling, as it stands now."""
    from chalicelib.db.streams import MODIFY, Change, image
    from chalicelib.orders.models import Order

    new = image(Order._get_connection().get_item(order_id, consistent_read=True)["Item"])
    old = {**new, "refunds_settled": new["refunds_settled"] - 1,
           "refund_settled_fen": new["refund_settled_fen"] - refund_fen}
    return Change("orders", MODIFY, {"order_id": order_id}, old, new, "2")


def test_paid_orders_count_in_their_store_day_and_month_once(client, sandbox_url, shopper):
    from chalicelib.figures import subscribers

    store_id = _store()
    sku = _sku(price_fen=3_000, stock=20, store_id=store_id)
    headers, _ = shopper
    first = _paid(client, sandbox_url, headers, sku, 2, store_id=store_id)
    second = _paid(client, sandbox_url, headers, sku, 1, store_id=store_id)
    paid_at = _order(first["order_id"]).paid_at
    day, month = _day(paid_at), _day(paid_at)[:7]

    figures = _figure(day, f"s:{store_id}")
    assert (figures["orders"], figures["gmv_fen"], figures["units"]) == (2, 9_000, 3)
    assert (figures["buyers"], figures["repeat_buyers"], figures["visitors"]) == (1, 1, 1)
    assert figures["new_buyers"] == 1  # the first of the two was their first order
    assert _figure(month, f"sc:{store_id}:mall")["gmv_fen"] == 9_000

    # The stream delivers both again, then one alone (a halved batch): nothing changes.
    subscribers.count_orders([_paid_change(first["order_id"]),
                                   _paid_change(second["order_id"])])
    subscribers.count_orders([_paid_change(second["order_id"])])
    assert _figure(day, f"s:{store_id}") == figures


def _report(client, headers, path="/admin/reports/sales", **query):
    from urllib.parse import urlencode

    answer = client.http.get(f"{path}?{urlencode(query)}", headers=headers)
    assert answer.status_code == 200, answer.body
    return answer


def test_a_refund_counts_on_the_day_it_succeeds_and_the_report_nets_it(
        client, sandbox_url, shopper, admin):
    import json

    from tests.api.test_payments import _post
    from tests.api.test_refunds import _settled
    from tests.conftest import body_of

    store_id = _store()
    sku = _sku(price_fen=2_500, stock=20, store_id=store_id)
    headers, _ = shopper
    order = _paid(client, sandbox_url, headers, sku, 4, store_id=store_id)
    asked = _post(client, f"/orders/{order['order_id']}/refund", headers, {"reason": "不要了"})
    assert asked.status_code == 201, asked.body
    refund = body_of(asked)
    assert _settled(sandbox_url, order["order_id"], refund["refund_id"]) == "SUCCESS"
    day = _day(_order(order["order_id"]).paid_at)

    report = json.loads(_report(client, admin, **{"from": day, "to": day, "store_id": store_id})
                        .body)
    [row] = report["rows"]
    assert (row["orders"], row["gmv_fen"], row["refunded_fen"], row["net_fen"]) == \
        (1, 10_000, 10_000, 0)
    assert (row["buyers"], row["aov_fen"], report["distinct_counts"]) == (1, 10_000, "exact")
    assert report["totals"]["gmv_fen"] == 10_000

    # The stream delivers the refund's change again: it counts nothing more.
    from chalicelib.figures import subscribers

    subscribers.count_orders([_refund_change(order["order_id"], 10_000)])
    assert _figure(day, f"s:{store_id}")["refunded_fen"] == 10_000

    csv = _report(client, admin, **{"from": day, "to": day, "store_id": store_id,
                                    "format": "csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    text = csv.body.decode("utf-8") if isinstance(csv.body, bytes) else csv.body
    assert text.startswith("\ufeffkey,visitors,buyers,orders,gmv_fen")
    assert text.splitlines()[-1].startswith("total,")


def test_two_partial_refunds_count_as_two_with_what_each_gave_back(
        client, sandbox_url, shopper):
    from tests.api.test_payments import _post
    from tests.api.test_refunds import _settled
    from tests.conftest import body_of, new_staff, wechat_minute_passes

    store_id = _store()
    sku = _sku(price_fen=1_200, stock=20, store_id=store_id)
    order = _paid(client, sandbox_url, shopper[0], sku, 3, store_id=store_id)
    manager, _ = new_staff(client, "store_manager", store_id)
    for units in (1, 2):
        asked = _post(client, f"/stores/{store_id}/orders/{order['order_id']}/refunds",
                      manager, {"reason": "少一件", "lines": [{"sku_id": sku, "quantity": units}]})
        assert asked.status_code == 201, asked.body
        assert _settled(sandbox_url, order["order_id"], body_of(asked)["refund_id"]) == \
            "SUCCESS"
        wechat_minute_passes(sandbox_url)
    day = _day(_order(order["order_id"]).refund_settled_at)
    figures = _figure(day, f"s:{store_id}")
    assert (figures["refunds"], figures["refunded_fen"]) == (2, 3_600)
    assert _figure(day[:7], f"sc:{store_id}:mall")["refunded_fen"] == 3_600


def test_visits_count_each_visitor_once_a_day_and_an_unknown_store_counts_nothing(
        client, shopper, admin):
    import json

    headers, _ = shopper
    store_id = _store()
    post = lambda events: client.http.post(  # noqa: E731
        "/events", headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"events": events}))
    assert post([{"kind": "store_visit", "store_id": store_id},
                 {"kind": "product_view", "store_id": store_id, "product_id": "p-oolong"},
                 {"kind": "product_view", "store_id": store_id, "product_id": "p-green"}]
                ).status_code == 200
    assert post([{"kind": "share_open", "store_id": store_id, "scene": "s=1"}]).status_code \
        == 200
    refused = post([{"kind": "store_visit", "store_id": store_id},
                    {"kind": "store_visit", "store_id": "store-nowhere"}])
    assert refused.status_code == 404
    assert post([{"kind": "store_visit", "store_id": store_id, "quantity": 1.0}]) \
        .status_code == 400
    assert post([{"kind": "store_visit", "store_id": store_id}] * 51).status_code == 400

    day = _day(datetime.now(timezone.utc))
    [row] = json.loads(_report(client, admin, **{"from": day, "to": day,
                                                 "store_id": store_id}).body)["rows"]
    assert (row["visitors"], row["store_visits"], row["product_views"], row["share_opens"]) \
        == (1, 1, 2, 1)
    assert (row["buyers"], row["conversion"]) == (0, 0.0)


def test_a_store_manager_sees_their_store_only_and_a_shopper_no_report(client, shopper):
    from tests.conftest import STORE_A, STORE_B, new_staff

    manager, _ = new_staff(client, "store_manager", STORE_A)
    day = _day(datetime.now(timezone.utc))
    query = f"from={day}&to={day}"
    assert client.http.get(f"/stores/{STORE_A}/reports/sales?{query}",
                           headers=manager).status_code == 200
    assert client.http.get(f"/stores/{STORE_B}/reports/sales?{query}",
                           headers=manager).status_code == 403
    assert client.http.get(f"/admin/reports/sales?{query}", headers=manager).status_code == 403
    assert client.http.get(f"/admin/reports/sales?{query}", headers=shopper[0]).status_code \
        == 403


def test_an_attempt_that_died_between_its_claims_and_its_counters_is_taken_over(
        client, sandbox_url, shopper):
    """The order's contribution is claimed by a token that never wrote its receipt: within
    GRACE the batch fails (the attempt may still commit), after it the next one counts it."""
    import pytest

    from chalicelib.figures import feed, subscribers
    from chalicelib.figures.models import Activity

    store_id = _store()
    sku = _sku(price_fen=1_000, stock=5, store_id=store_id)
    order = _paid(client, sandbox_url, shopper[0], sku, 1, store_id=store_id)
    paid = _order(order["order_id"])
    day, month = _day(paid.paid_at), _day(paid.paid_at)[:7]
    before = _figure(day, f"s:{store_id}")
    assert before["orders"] == 1

    # A second order of the same member, whose first attempt died after claiming.
    second = _paid_without_figures(client, sandbox_url, shopper[0], sku, store_id)
    claimed_at = datetime.now(timezone.utc)
    feed.claim(paid.member_id, month, {feed.contribution_key(f"p:{second}"):
                                       f"deadbeef@{int(claimed_at.timestamp())}"})
    with pytest.raises(feed.ClaimedElsewhere):
        subscribers.count_orders([_paid_change(second)], FixedClock(claimed_at))
    assert _figure(day, f"s:{store_id}")["orders"] == 1
    later = FixedClock(claimed_at + feed.GRACE + timedelta(seconds=1))
    subscribers.count_orders([_paid_change(second)], later)
    subscribers.count_orders([_paid_change(second)], later)
    after = _figure(day, f"s:{store_id}")
    assert (after["orders"], after["gmv_fen"], after["buyers"], after["repeat_buyers"]) == \
        (2, 2_000, 1, 1)
    assert Activity.count(paid.member_id) >= 1


def _paid_without_figures(client, sandbox_url, headers, sku, store_id):
    """An order paid while the figures' consumer is away (its batch never reached them)."""
    from chalicelib import wiring

    consumers = wiring._stream_consumers()
    kept = consumers["figures"]
    consumers["figures"] = ()
    try:
        return _paid(client, sandbox_url, headers, sku, 1, store_id=store_id)["order_id"]
    finally:
        consumers["figures"] = kept


def _size(item):
    """An item's size as DynamoDB bills its writes: names and string values in UTF-8."""
    return sum(len(name.encode()) + len(typed["S"].encode()) for name, typed in item.items())


def test_a_member_buying_every_day_keeps_their_month_within_one_write_unit(local_services):
    """Each day's claims are removed once no contribution of that day can come again."""
    from chalicelib.figures import feed
    from chalicelib.figures.models import Activity

    member, start = f"m-fig-{uuid.uuid4().hex[:8]}", datetime(2031, 3, 1, 4, tzinfo=timezone.utc)
    for day in range(31):
        at = start + timedelta(days=day)
        scopes = ("b", f"s:store-{day % 2}", "c:mall", f"sc:store-{day % 2}:mall",
                  "g:guide-1", "gc:guide-1:mall", "k:flash_sale:fs-1")
        feed.add([feed.Contribution(f"p:{member}-{day}", member, at, scopes,
                                    {"orders": 1, "gmv_fen": 1_000}, buys=True)],
                 FixedClock(at + timedelta(seconds=30)))
        item = Activity._get_connection().get_item(member, "2031-03",
                                                   consistent_read=True)["Item"]
        assert _size(item) <= 1_024, (day, _size(item))
    month = feed.fact_key("b", "m", "s:store-1")
    assert month in item and feed.fact_key("b", "d31", "b") in item
    assert feed.fact_key("b", "d01", "b") not in item


def test_the_members_report_counts_imports_sign_ins_and_valid_members_of_a_store(
        client, sandbox_url, served_app, admin):
    """Two members imported into the store; a shopper of the store, reachable by a message,
    pays twice (a valid member) and signs in the next day (a visit of the store)."""
    import json

    from chalicelib import wechat, wiring
    from chalicelib.members import accounts
    from chalicelib.members.models import Member
    from tests.api.test_import_and_phone import fresh_phone, import_csv
    from tests.conftest import WeChatUser, sign_in, subscribe

    store_id = _store()
    import_csv(client, admin, "phone,name,level,points,store_id,joined_on\n"
               f"{fresh_phone()},王芳,,0,{store_id},\n{fresh_phone()},李雷,,0,{store_id},\n")
    user = WeChatUser(f"fig-{uuid.uuid4().hex[:8]}")
    headers, session = sign_in(client, user)
    member_id = session["member"]["member_id"]
    subscribe(member_id, "order_paid")
    sku = _sku(price_fen=900, stock=10, store_id=store_id)
    for _ in range(2):
        _paid(client, sandbox_url, headers, sku, 1, store_id=store_id)
    today = datetime.now(timezone.utc)
    Member(member_id).update(actions=[Member.current_store_id.set(store_id)])
    tomorrow = today + timedelta(days=1)
    accounts.login(user.login_code(), wechat.mini_program(), FixedClock(tomorrow))
    wiring.run_job(FixedClock(tomorrow + timedelta(minutes=3)))  # the sign-in's event
    accounts.login(user.login_code(), wechat.mini_program(), FixedClock(tomorrow))  # again

    day, next_day = _day(today), _day(tomorrow)
    answer = json.loads(_report(client, admin, "/admin/reports/members",
                                **{"from": day, "to": next_day, "store_id": store_id}).body)
    first, second = answer["rows"]
    assert (first["new_members_imported"], first["buyers"], first["repeat_buyers"],
            first["valid_members"]) == (2, 1, 1, 1)
    assert (second["visitors"], second["new_members"]) == (1, 0)
    assert _figure(next_day, f"s:{store_id}")["logins"] == 0  # the shards hold traffic
    assert answer["totals"]["members"] == 2 and answer["distinct_counts"] == "upper_bound"
    manager_path = f"/stores/{store_id}/reports/members?from={day}&to={day}"
    assert client.http.get(manager_path, headers=admin).status_code == 200


def test_a_new_buyers_cohort_keeps_their_net_gmv_net_of_refunds(
        client, sandbox_url, shopper, admin):
    import json

    from chalicelib.core.clock import SHANGHAI as shanghai
    from tests.api.test_payments import _post
    from tests.api.test_refunds import _settled
    from tests.conftest import body_of

    def cohort_row():
        month = datetime.now(timezone.utc).astimezone(shanghai).strftime("%Y-%m")
        answer = client.http.get(f"/admin/reports/ltv?cohort_from={month}&cohort_to={month}",
                                 headers=admin)
        assert answer.status_code == 200, answer.body
        [row] = json.loads(answer.body)["rows"]
        return row

    before = cohort_row()
    store_id = _store()
    sku = _sku(price_fen=2_000, stock=10, store_id=store_id)
    _paid(client, sandbox_url, shopper[0], sku, 1, store_id=store_id)
    second = _paid(client, sandbox_url, shopper[0], sku, 2, store_id=store_id)
    asked = _post(client, f"/orders/{second['order_id']}/refund", shopper[0], {"reason": "不要了"})
    assert _settled(sandbox_url, second["order_id"], body_of(asked)["refund_id"]) == "SUCCESS"

    after = cohort_row()
    assert after["members"] - before["members"] == 1
    assert after["net_30d_fen"] - before["net_30d_fen"] == 2_000  # 2,000 + 4,000 − 4,000
    assert after["net_365d_fen"] - before["net_365d_fen"] == 2_000
    assert after["ltv_30d_fen"] == after["net_30d_fen"] // after["members"]
    assert client.http.get("/admin/reports/ltv?cohort_from=2031-05&cohort_to=2031-04",
                           headers=admin).status_code == 400
    assert client.http.get("/admin/reports/ltv?cohort_from=2028-01&cohort_to=2031-04",
                           headers=admin).status_code == 400
    assert client.http.get("/admin/reports/ltv?cohort_from=2031-01&cohort_to=2031-04",
                           headers=shopper[0]).status_code == 403


def test_entering_a_live_session_is_a_visit_of_its_store(client, shopper):
    from chalicelib.figures import reports
    from tests.api.test_live import _guide, _session

    store_id = _store()
    _, host = _guide(client, store_id)
    session = _session(host, _sku(price_fen=1_000, stock=10, store_id=store_id))
    for _ in range(2):
        entered = client.http.post(f"/live-sessions/{session.session_id}/enter",
                                   headers=shopper[0])
        assert entered.status_code == 200, entered.body
    day = _day(datetime.now(timezone.utc))
    [row] = reports.sales(day, day, store_id=store_id)["rows"]
    assert (row["live_entries"], row["visitors"], row["buyers"]) == (2, 1, 0)
