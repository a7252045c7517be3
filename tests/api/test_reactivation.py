"""Dormant-member reactivation against DynamoDB Local: who is messaged and who is handed to a
person, what the job reads in a pond of 100,000, that a second run contacts nobody, and a
reactivated member's order in the report."""
import json
import time
import uuid
from datetime import date, datetime, time as day_time, timedelta, timezone

from bench import reactivation as pond
from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _sku
from tests.conftest import JSON, STORE_A, WeChatUser, body_of, new_staff, sign_in, subscribe


def _dormant(dormancy_day, member_id=None, credit=False, **attributes):
    """A member whose last order was on dormancy_day (indexed in ActivityDay)."""
    from chalicelib.members.models import ActivityDay, Member

    last_order = datetime.combine(dormancy_day, day_time(12), pond.SHANGHAI)
    if member_id is None:
        member_id = f"m_react_{uuid.uuid4().hex[:10]}"
        Member(member_id, created_at=datetime(2024, 1, 1, tzinfo=timezone.utc)).save()
    Member(member_id).update(actions=[Member.last_order_at.set(last_order)] + [
        getattr(Member, name).set(value) for name, value in attributes.items()])
    ActivityDay(dormancy_day.isoformat(), member_id).save()
    if credit:
        subscribe(member_id, "reactivation")
    return member_id


def _contact(member_id):
    from chalicelib.reactivation.models import Contact

    return list(Contact.query(member_id))


def _notifications(member_id):
    from chalicelib.notify.models import Notification

    return [n for n in Notification.by_member.query(member_id) if n.event == "reactivation"]


def _report(client, headers, day):
    answer = client.http.get(f"/admin/reactivation/report?from={day}&to={day}",
                             headers=headers)
    assert answer.status_code == 200, answer.body
    return body_of(answer)


def test_no_credit_no_message_a_person_instead_and_a_second_run_contacts_nobody(
        client, admin):
    from chalicelib.db import cursors
    from chalicelib.reactivation import job

    guide_headers, guide_session = new_staff(client, "guide", STORE_A)
    guide_id = guide_session["member"]["member_id"]
    manager, _ = new_staff(client, "store_manager", STORE_A)
    dormancy_day = date(2031, 3, 12)
    run_at = pond.run_day(dormancy_day)
    today = run_at.astimezone(pond.SHANGHAI).date().isoformat()
    coupon = pond.come_back_coupon(run_at - timedelta(days=1))
    pond.configure(coupon["coupon_id"])
    reachable = _dormant(dormancy_day, credit=True, openid=f"o-{uuid.uuid4().hex}",
                         guide_id=guide_id, home_store_id=STORE_A)
    no_credit = _dormant(dormancy_day, openid=f"o-{uuid.uuid4().hex}", guide_id=guide_id,
                         home_store_id=STORE_A, name="没券的老顾客")
    imported = _dormant(dormancy_day, credit=True, source="import", phone="13900000123",
                        home_store_id=STORE_A)  # a credit, but no openid: not reachable
    came_back = _dormant(dormancy_day, credit=True, openid=f"o-{uuid.uuid4().hex}",
                         home_store_id=STORE_A)
    _dormant(dormancy_day + timedelta(days=20), member_id=came_back)  # ordered since

    outcomes = job.run_job(FixedClock(run_at))

    assert outcomes == {"dormant": 3, "message": 1, "guide": 2}, outcomes
    [messaged] = _contact(reachable)
    assert messaged.channel == "message" and messaged.member_coupon_id
    [note] = _notifications(reachable)
    assert note.notification_id == messaged.notification_id
    assert note.data["thing1"]["value"] == "回归券" and note.page == "pages/coupons/index"
    assert [c.channel for c in _contact(no_credit)] == ["guide"]
    assert _notifications(no_credit) == [] and _notifications(imported) == []
    assert _contact(came_back) == []

    mine = body_of(client.http.get("/guides/me/tasks", headers=guide_headers))["tasks"]
    assert [(t["member_id"], t["member_name"], t["status"]) for t in mine] == \
        [(no_credit, "没券的老顾客", "open")]
    store = body_of(client.http.get(f"/stores/{STORE_A}/tasks?limit=100",
                                    headers=manager))["tasks"]
    [to_call] = [t for t in store if t["member_id"] == imported]
    assert to_call["phone"] == "139****0123" and to_call["guide_id"] is None  # store staff
    done = client.http.post(f"/guides/me/tasks/{mine[0]['task_id']}/done",
                            headers={**guide_headers, **JSON}, body="{}")
    assert done.status_code == 200 and body_of(done)["status"] == "done"
    other = client.http.post(f"/guides/me/tasks/{to_call['task_id']}/done",
                             headers={**guide_headers, **JSON}, body="{}")
    assert other.status_code == 404  # the store's task, not the guide's

    # Again the same day: the cursor has covered it; and with the cursor lost, the
    # contacts' conditional puts still let nobody be contacted twice.
    assert job.run_job(FixedClock(run_at)) == {}
    cursors.forget(job.JOB)
    assert job.run_job(FixedClock(run_at + timedelta(hours=5))) == {"dormant": 3, "already": 3}
    assert len(_notifications(reachable)) == 1 and len(_contact(no_credit)) == 1
    assert len(body_of(client.http.get("/guides/me/tasks", headers=guide_headers))["tasks"]) == 1

    figures = _report(client, admin, today)
    assert figures["brand"] == {"dormant_found": 3, "contacted_by_message": 1,
                                "handed_to_guides": 2, "coupons_used": 0, "reactivated": 0,
                                "gmv_fen": 0}
    assert figures["guides"][guide_id]["handed_to_guides"] == 1
    assert figures["guides"][guide_id]["contacted_by_message"] == 1
    assert figures["stores"][STORE_A]["dormant_found"] == 3


def test_a_reactivated_member_shows_in_the_report_with_the_orders_gmv(client, admin):
    from chalicelib.db import events
    from chalicelib.orders import placing as orders, payments
    from chalicelib.orders.events import ORDER_PAID
    from chalicelib.mall.channel import MALL
    from chalicelib.reactivation import job
    from devtools import streams

    dormancy_day = date(2031, 6, 2)
    run_at = pond.run_day(dormancy_day)
    today = run_at.astimezone(pond.SHANGHAI).date().isoformat()
    coupon = pond.come_back_coupon(run_at - timedelta(days=1))
    pond.configure(coupon["coupon_id"], within_days=14)
    headers, session = sign_in(client, WeChatUser(f"dormant-{uuid.uuid4().hex[:8]}"))
    member_id = session["member"]["member_id"]
    _dormant(dormancy_day, member_id=member_id, credit=True, home_store_id=STORE_A)
    assert job.run_job(FixedClock(run_at))["message"] == 1
    [contact] = _contact(member_id)

    three_days_later = FixedClock(run_at + timedelta(days=3))
    order, _ = orders.place(MALL, member_id, uuid.uuid4().hex, {
        "store_id": STORE_A, "items": [{"sku_id": _sku(price_fen=8_800, stock=3),
                                        "quantity": 2}],
        "fulfilment": "pickup", "member_coupon_id": contact.member_coupon_id},
        three_days_later)
    paid = payments.record_payment(order, f"42{int(time.time() * 1000)}", None,
                                   three_days_later)
    streams.drain()  # the orders stream delivers the payment to its subscribers
    _, failed = events.run_subscribers(events.installed_kinds()[ORDER_PAID],
                                       {"order_id": paid.order_id}, three_days_later)
    assert failed == []  # delivered again (a batch retried): counted once

    assert paid.status == "PAID" and paid.total_fen == 2 * 8_800 - 1_000
    figures = _report(client, admin, today)
    assert figures["brand"]["reactivated"] == 1
    assert figures["brand"]["gmv_fen"] == paid.total_fen
    assert figures["brand"]["coupons_used"] == 1
    assert figures["stores"][STORE_A]["reactivated"] == 1
    assert figures["stores"][STORE_A]["gmv_fen"] == paid.total_fen
    [contact] = _contact(member_id)
    assert contact.reactivated_order_id == paid.order_id == contact.coupon_order_id


def test_the_job_reads_the_newly_dormant_not_the_pond(local_services):
    """100,000 members, 500 of them dormant from today: the job reads about 500 members'
    worth of items (ReturnConsumedCapacity on every read), and scans nothing."""
    from chalicelib.db import cursors
    from chalicelib.reactivation import job

    dormancy_day = date(2031, 10, 20)
    run_at = pond.run_day(dormancy_day)
    started = time.perf_counter()
    # Every member, but only one in ten other members' ActivityDay items: those lie in
    # partitions the job never reads, and writing them all would double the load (DynamoDB
    # Local takes about 2,800 items/s here).
    dormant = pond.load_pond(100_000 - pond.NEWLY_DORMANT, dormancy_day, index_every=10)
    loaded_s = time.perf_counter() - started
    pond.configure(None)

    with pond.metering_reads() as reads:
        outcomes = job.run_job(FixedClock(run_at))

    assert outcomes == {"dormant": 500, "message": 250, "guide": 250}, outcomes
    assert reads["scans"] == 0
    # Per dormant member: their item (BatchGet), their latest contact, their send credit:
    # about 1.3 read units each, against 50,000 for reading the pond once.
    assert reads["read_units"] <= 3 * len(dormant), (reads, loaded_s)

    cursors.forget(job.JOB)
    with pond.metering_reads() as again:
        assert job.run_job(FixedClock(run_at)) == {"dormant": 500, "already": 500}
    assert again["read_units"] <= 3 * len(dormant)
    print(f"pond loaded in {loaded_s:.1f} s; job read {reads['read_units']:g} units")


def test_reactivation_settings_round_trip(client, admin):
    pond.configure(None)
    settings = body_of(client.http.get("/admin/reactivation", headers=admin))
    changed = {**settings, "dormant_days": 120, "daily_cap": 50}
    answer = client.http.put("/admin/reactivation", headers={**admin, **JSON},
                             body=json.dumps(changed))
    assert answer.status_code == 200 and body_of(answer) == changed
    bad = client.http.put("/admin/reactivation", headers={**admin, **JSON},
                          body=json.dumps({**changed, "dormant_days": 0}))
    assert bad.status_code == 400
    unknown = client.http.put("/admin/reactivation", headers={**admin, **JSON},
                              body=json.dumps({**changed, "coupon_id": "cp_nosuch"}))
    assert unknown.status_code == 404


def test_the_come_back_coupon_is_granted_never_listed_nor_claimed(client, admin):
    from chalicelib.coupons import wallet as coupons

    starts = datetime.now(timezone.utc) - timedelta(days=1)
    come_back = pond.come_back_coupon(starts)
    pond.configure(come_back["coupon_id"])
    shopper, _ = sign_in(client, WeChatUser(f"come-back-{uuid.uuid4().hex[:8]}"))

    listed = body_of(client.http.get(f"/coupons?store_id={STORE_A}"))["coupons"]
    claimed = client.http.post(f"/coupons/{come_back['coupon_id']}/claim",
                               headers={**shopper, **JSON}, body="{}")

    assert come_back["coupon_id"] not in {c["coupon_id"] for c in listed}
    assert claimed.status_code == 404
    public = coupons.create({"name": "公开券", "kind": "fixed", "amount_fen": 500, "total": 10,
                             "valid_from": starts.isoformat(),
                             "valid_until": (starts + timedelta(days=30)).isoformat()})
    settings = {**body_of(client.http.get("/admin/reactivation", headers=admin)),
                "coupon_id": public["coupon_id"]}
    refused = client.http.put("/admin/reactivation", headers={**admin, **JSON},
                              body=json.dumps(settings))
    assert refused.status_code == 400
    assert body_of(refused)["error"]["code"] == "validation_error"
    pond.configure(None)
