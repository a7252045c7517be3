"""Subscribe messages against DynamoDB Local and the WeChat sandbox: a credit per accepted
template, no credit no send, each message sent at most once, every event's data within the
rules the sandbox enforces as WeChat does, WeChat's refusals survived, retries while WeChat is
away, and staff's view of what was sent to a member and why."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from tests.api.test_checkout import _id, _member, _sku
from tests.api.test_payments import _notify_xml, _place, _send_notify
from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, new_staff, sign_in, \
    subscribe


def _sent(sandbox_url, openid):
    return requests.get(f"{sandbox_url}/__sandbox__/messages", params={"touser": openid},
                        timeout=5).json()


def _openid(member_id):
    from chalicelib.members.models import Member

    return Member.get(member_id).openid


def _template(event):
    from chalicelib.notify import EVENTS

    return EVENTS[event].template_id


def _reminder(member_id, name="秒杀测试", once_key=None, clock=None):
    from chalicelib.core.clock import clock as system_clock
    from chalicelib.notify import service

    starts = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    return service.notify(member_id, "flash_reminder",
                          {"sale_id": "fs-test", "sale": name, "starts_at": starts},
                          reason="asked to be reminded of flash sale fs-test",
                          clock=clock or system_clock, once_key=once_key)


def _notification(nid):
    from chalicelib.notify import service

    return service.get(nid)


def test_no_credit_no_send(client, sandbox_url):
    from chalicelib.notify import credits, service

    member_id = _member()
    nid = _reminder(member_id)
    assert _notification(nid).status == "queued"
    assert not credits.has_credit(member_id, "flash_reminder")

    service.run_job()

    assert _notification(nid).status == "no_credit"
    assert _sent(sandbox_url, _openid(member_id)) == []


def test_a_credit_sends_one_message_once_and_is_spent(client, sandbox_url):
    from chalicelib.notify import credits, service

    member_id = _member()
    subscribe(member_id, "flash_reminder")
    assert credits.has_credit(member_id, "flash_reminder")
    first = _reminder(member_id)

    with ThreadPoolExecutor(max_workers=4) as pool:  # jobs overlapping: sent once
        list(pool.map(lambda _: service.run_job(), range(4)))
    service.send_now(first)  # and again by hand: nothing more

    sent = _sent(sandbox_url, _openid(member_id))
    assert len(sent) == 1 and sent[0]["template_id"] == _template("flash_reminder")
    assert sent[0]["page"] == "pages/flash/index?id=fs-test"
    shown = _notification(first)
    assert (shown.status, shown.errcode, shown.attempts) == ("sent", 0, 1)
    assert shown.sent_at is not None
    assert not credits.has_credit(member_id, "flash_reminder")

    second = _reminder(member_id)  # no credit left
    service.run_job()
    assert _notification(second).status == "no_credit"
    assert len(_sent(sandbox_url, _openid(member_id))) == 1


def test_a_43101_answer_is_recorded_and_the_credit_is_gone(client, sandbox_url):
    from chalicelib.notify import credits, service

    member_id = _member()
    openid = _openid(member_id)
    subscribe(member_id, "flash_reminder")  # WeChat counted one acceptance
    credits.accept(member_id, [_template("flash_reminder")])  # the mini-program reported two
    first, second = _reminder(member_id, once_key="1"), _reminder(member_id, once_key="2")

    service.run_job()

    assert _notification(first).status == "sent"
    shown = _notification(second)
    assert (shown.status, shown.errcode, shown.sent_at) == ("refused", 43101, None)
    assert [m["errcode"] for m in _sent(sandbox_url, openid)] == [0, 43101]
    assert credits.credits_of(member_id, _template("flash_reminder")) == 0  # WeChat: no quota


SEND = "/cgi-bin/message/subscribe/send"
# WeChat busy (-1), its gateway's 5xx (no errcode at all), an answer past our timeout: WeChat
# did not take the message, or (slow: the sandbox still sends) took it without telling us.
NOT_TAKEN = {"errcode -1": lambda: {"errcode": -1}, "http 503": lambda: {"http_status": 503},
             "slow": lambda: {"delay_s": _past_the_timeout()}}


def _past_the_timeout():
    from chalicelib import wechat

    return wechat.mini_program().client.timeout + 0.5


@pytest.mark.parametrize("fault", NOT_TAKEN)
def test_a_send_wechat_does_not_answer_stays_queued_and_goes_once_later(
        client, sandbox_url, wechat_faults, fault):
    from chalicelib.notify import credits, service

    member_id = _member()
    openid = _openid(member_id)
    subscribe(member_id, "flash_reminder")
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    nid = _reminder(member_id, clock=FixedClock(start))
    wechat_faults.add(SEND, match={"touser": openid}, **NOT_TAKEN[fault]())

    service.run_job(clock=FixedClock(start))
    shown = _notification(nid)
    assert (shown.status, shown.attempts) == ("queued", 1)
    assert shown.due_at == start + timedelta(minutes=1)
    service.run_job(clock=FixedClock(start + timedelta(minutes=1)))

    shown = _notification(nid)
    assert (shown.status, shown.attempts) == ("sent", 2) and shown.sent_at is not None
    assert len([m for m in _sent(sandbox_url, openid) if m["errcode"] == 0]) == 1
    assert credits.credits_of(member_id, _template("flash_reminder")) == 0  # spent once


def test_wechat_busy_on_every_try_retries_with_backoff_then_fails_keeping_the_credit(
        client, sandbox_url, wechat_faults):
    from chalicelib.config import settings
    from chalicelib.notify import credits, service

    member_id = _member()
    openid = _openid(member_id)
    subscribe(member_id, "flash_reminder")
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    nid = _reminder(member_id, clock=FixedClock(start))
    wechat_faults.add(SEND, match={"touser": openid}, errcode=-1,
                      times=settings.notify_max_attempts + 1)

    moment, dues = start, []
    for _ in range(settings.notify_max_attempts + 2):
        service.run_job(clock=FixedClock(moment))
        service.run_job(clock=FixedClock(moment))  # not due again yet: nothing more
        shown = _notification(nid)
        if shown.status != "queued":
            break
        dues.append(shown.due_at - moment)
        moment = shown.due_at
    assert dues == [timedelta(minutes=2 ** n) for n in range(settings.notify_max_attempts - 1)]
    assert (shown.status, shown.attempts) == ("failed", settings.notify_max_attempts)
    assert "WeChat did not answer" in shown.error
    [left] = wechat_faults.pending()
    assert left["hits"] == settings.notify_max_attempts  # one send per try
    assert credits.has_credit(member_id, "flash_reminder")  # WeChat took nothing
    assert _sent(sandbox_url, openid) == []


LONG_NAME = "  春季新茶限时秒杀\n特惠专场 龙井碧螺春白茶大红袍🍵  "
SHOP_TEXT = {  # what shoppers, staff and the catalog may put in an event's fields
    "order_id": "o_" + "x" * 40, "group_id": "g_1", "sale_id": "fs-1", "session_id": "l_1",
    "goods": LONG_NAME, "store": LONG_NAME, "note": LONG_NAME, "carrier": "顺丰速运\t(SF)",
    "tracking_no": "SF 1234 5678 中国", "pickup_code": "042917", "campaign": LONG_NAME,
    "result": "拼团 成功!", "sale": LONG_NAME, "title": LONG_NAME, "host": LONG_NAME,
    "coupon": LONG_NAME, "total_fen": 123_456_789_012, "refund_fen": 5,
    "paid_at": "2026-11-27T16:30:00Z", "settled_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "shipped_at": "2026-11-27T16:30:00+00:00", "starts_at": "2026-11-27T16:30:00Z",
    "expires_at": "2026-12-31T15:59:00Z",
}


def test_every_events_data_is_what_wechat_takes(client, sandbox_url):
    """Each event's message, from the fields as they come, passes WeChat's rules as the sandbox
    checks them, and opens a page of the released mini-program."""
    from chalicelib.notify import EVENTS, service

    member_id = _member()
    subscribe(member_id, *EVENTS)
    queued = {event: service.notify(member_id, event, SHOP_TEXT, reason="test", once_key="1")
              for event in EVENTS}
    for nid in queued.values():
        service.send_now(nid)

    assert {event: _notification(nid).status for event, nid in queued.items()} == \
        {event: "sent" for event in EVENTS}
    sent = {m["template_id"]: m for m in _sent(sandbox_url, _openid(member_id))}
    assert all(m["errcode"] == 0 and m["page"] for m in sent.values())
    paid = sent[_template("order_paid")]["data"]
    assert paid["time4"]["value"] == "2026-11-28 00:30"  # Shanghai time
    assert paid["thing3"]["value"] == "春季新茶限时秒杀 特惠专场 龙井碧螺春…"
    assert paid["amount2"]["value"] == "¥1234567890"  # ten digits: no room for the cents
    assert sent[_template("refund_done")]["data"]["amount2"]["value"] == "¥0.05"
    assert sent[_template("shipped")]["data"]["character_string3"]["value"] == "SF12345678"
    assert sent[_template("group_result")]["data"]["phrase2"]["value"] == "拼团成功"


def test_a_message_wechat_refuses_with_47003_fails_once_and_keeps_the_credit(client,
                                                                           sandbox_url):
    from chalicelib.notify import credits, service
    from chalicelib.notify.models import Notification

    member_id = _member()
    subscribe(member_id, "flash_reminder")
    nid = _reminder(member_id, once_key="old")
    # queued before the template's rules were kept (a release that formatted differently)
    _notification(nid).update(actions=[Notification.data.set(
        {"thing1": {"value": "秒杀"}, "time2": {"value": "明天上午十点"}})])

    service.run_job()
    service.run_job()

    shown = _notification(nid)
    assert (shown.status, shown.errcode, shown.attempts) == ("failed", 47003, 1)
    assert credits.has_credit(member_id, "flash_reminder")  # WeChat spent nothing
    later = _reminder(member_id, once_key="new")
    service.run_job()
    assert _notification(later).status == "sent"
    assert [m["errcode"] for m in _sent(sandbox_url, _openid(member_id))] == [47003, 0]


def test_a_template_the_brands_account_lacks_is_40037_failed_once_keeping_the_credit(
        client, sandbox_url, monkeypatch):
    from chalicelib.notify import credits, service

    monkeypatch.setenv("TEMPLATE_FLASH_REMINDER", "tpl-not-in-the-account")
    member_id = _member()
    subscribe(member_id, "flash_reminder")
    nid = _reminder(member_id)

    service.run_job()
    service.run_job()

    shown = _notification(nid)
    assert (shown.status, shown.errcode, shown.attempts) == ("failed", 40037, 1)
    assert credits.credits_of(member_id, "tpl-not-in-the-account") == 1
    assert [m["errcode"] for m in _sent(sandbox_url, _openid(member_id))] == [40037]


def test_a_page_the_released_mini_program_lacks_is_left_out_and_the_message_goes(
        client, sandbox_url):
    from chalicelib.notify import credits, service

    control = f"{sandbox_url}/__sandbox__/miniprogram"
    released = requests.get(f"{control}/pages", timeout=5).json()["pages"]
    member_id = _member()
    subscribe(member_id, "flash_reminder")
    nid = _reminder(member_id)
    requests.post(f"{control}/release", timeout=5,
                  json={"pages": [p for p in released if p != "pages/flash/index"]})
    try:
        service.run_job()
        service.run_job()
    finally:
        requests.post(f"{control}/release", json={"pages": released}, timeout=5)

    assert (_notification(nid).status, _notification(nid).errcode) == ("sent", 0)
    sent = _sent(sandbox_url, _openid(member_id))
    assert [(m["errcode"], m["page"]) for m in sent] == [
        (41030, "pages/flash/index?id=fs-test"), (0, None)]
    assert not credits.has_credit(member_id, "flash_reminder")


def test_notify_never_raises_into_the_caller(client):
    from chalicelib.notify import service

    assert service.notify(_member(), "no_such_event", {}, reason="x") is None
    assert service.notify(_member(), "order_paid", {}, reason="fields missing") is None


def test_the_mini_program_reports_accepted_templates(client):
    from chalicelib.notify import credits

    headers, session = sign_in(client, WeChatUser(_id("subscriber")))
    member_id = session["member"]["member_id"]
    accepted = [_template("order_paid"), _template("shipped")]

    first = client.http.post("/members/me/subscriptions", headers={**headers, **JSON},
                             body=json.dumps({"accepted": accepted}))
    again = client.http.post("/members/me/subscriptions", headers={**headers, **JSON},
                             body=json.dumps({"accepted": [_template("order_paid")]}))
    unknown = client.http.post("/members/me/subscriptions", headers={**headers, **JSON},
                               body=json.dumps({"accepted": ["tpl-nosuch"]}))

    assert first.status_code == 200, first.body
    assert {c["event"]: c["credits"] for c in body_of(first)["credits"]} == \
        {"order_paid": 1, "shipped": 1}
    assert body_of(again)["credits"] == [{"template_id": _template("order_paid"),
                                          "event": "order_paid", "credits": 2}]
    assert unknown.status_code == 400
    assert credits.credits_of(member_id, _template("order_paid")) == 2
    assert not credits.has_credit(member_id, "refund_done")


def _pay_three_times_and_once_more(client, served_app, subscribed_to):
    """A pickup order paid, its notify repeated at once and later; the messages sent."""
    from chalicelib.notify import service

    headers, session = sign_in(client, WeChatUser(_id("payer")))
    member_id = session["member"]["member_id"]
    subscribe(member_id, *subscribed_to)
    order = _place(client, headers, _sku(price_fen=1_230, stock=3), fulfilment="pickup")
    xml = _notify_xml(order["order_id"], order["total_fen"])

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _send_notify(served_app, xml), range(3)))
    assert all("SUCCESS" in answer for answer in answers)
    _send_notify(served_app, xml)  # and once more, later
    service.run_job()
    return member_id, order


def test_a_paid_pickup_order_sends_one_message_its_code_however_often_wechat_notifies(
        client, served_app, sandbox_url):
    from chalicelib.notify.models import Notification

    member_id, order = _pay_three_times_and_once_more(client, served_app,
                                                      ("order_paid", "pickup_ready"))

    queued = list(Notification.by_member.query(member_id))
    assert [(n.event, n.status) for n in queued] == [("pickup_ready", "sent")]
    sent = _sent(sandbox_url, _openid(member_id))
    assert [m["template_id"] for m in sent] == [_template("pickup_ready")]
    assert sent[0]["data"]["character_string1"]["value"] == order["order_id"]
    assert len(sent[0]["data"]["character_string2"]["value"]) == 6


def test_without_a_subscription_to_the_pickup_code_the_payment_is_told(client, served_app,
                                                                         sandbox_url):
    member_id, order = _pay_three_times_and_once_more(client, served_app, ("order_paid",))

    sent = _sent(sandbox_url, _openid(member_id))
    assert [m["template_id"] for m in sent] == [_template("order_paid")]
    paid = sent[0]
    assert paid["data"]["character_string1"]["value"] == order["order_id"]
    assert paid["data"]["amount2"]["value"] == f"¥{order['total_fen'] // 100}." \
                                                f"{order['total_fen'] % 100:02d}"


def test_staff_see_what_was_sent_to_a_member_and_why(client, sandbox_url):
    from chalicelib.members.models import Member
    from chalicelib.notify import credits, service

    member_id = _member()
    Member(member_id).update(actions=[Member.home_store_id.set(STORE_A)])
    subscribe(member_id, "flash_reminder")
    sent_id = _reminder(member_id, once_key="first")
    service.run_job()
    unsent_id = _reminder(member_id, once_key="second")
    service.run_job()
    admin = new_staff(client, "admin")[0]
    guide_a = new_staff(client, "guide", STORE_A)[0]
    clerk_b = new_staff(client, "clerk", STORE_B)[0]

    by_admin = client.http.get(f"/admin/members/{member_id}/notifications", headers=admin)
    by_guide = client.http.get(f"/stores/{STORE_A}/members/{member_id}/notifications?limit=1",
                               headers=guide_a)
    by_other_store = client.http.get(f"/stores/{STORE_B}/members/{member_id}/notifications",
                                     headers=clerk_b)

    assert by_admin.status_code == 200, by_admin.body
    shown = body_of(by_admin)["notifications"]
    assert [n["notification_id"] for n in shown] == [unsent_id, sent_id]  # newest first
    assert [(n["event"], n["status"], n["errcode"]) for n in shown] == \
        [("flash_reminder", "no_credit", None), ("flash_reminder", "sent", 0)]
    assert shown[1]["reason"] == "asked to be reminded of flash sale fs-test"
    assert shown[1]["template_id"] == _template("flash_reminder")
    assert shown[1]["sent_at"] and shown[1]["created_at"] and shown[0]["sent_at"] is None
    page = body_of(by_guide)
    assert [n["notification_id"] for n in page["notifications"]] == [unsent_id]
    assert page["next_cursor"]
    rest = client.http.get(f"/stores/{STORE_A}/members/{member_id}/notifications"
                           f"?cursor={page['next_cursor']}", headers=guide_a)
    assert [n["notification_id"] for n in body_of(rest)["notifications"]] == [sent_id]
    assert by_other_store.status_code == 404


def test_the_job_reads_only_what_is_due(client):
    from chalicelib.notify import service

    later = datetime.now(timezone.utc) + timedelta(hours=5)
    nid = _reminder(_member(), clock=FixedClock(later + timedelta(minutes=10)))
    service.run_job(clock=FixedClock(later))
    assert _notification(nid).status == "queued"  # not due yet
    service.run_job(clock=FixedClock(later + timedelta(minutes=10)))
    assert _notification(nid).status == "no_credit"


def test_a_trial_builds_messages_open_its_pages_unchecked(client, sandbox_url, monkeypatch):
    from chalicelib.notify import service

    control = f"{sandbox_url}/__sandbox__/miniprogram"
    released = requests.get(f"{control}/pages", timeout=5).json()["pages"]
    member_id = _member()
    subscribe(member_id, "flash_reminder")
    nid = _reminder(member_id)
    monkeypatch.setenv("WECHAT_MINIPROGRAM_VERSION", "trial")
    requests.post(f"{control}/release", json={"pages": []}, timeout=5)
    try:
        service.run_job()
    finally:
        requests.post(f"{control}/release", json={"pages": released}, timeout=5)

    assert _notification(nid).status == "sent"
    sent = _sent(sandbox_url, _openid(member_id))
    assert [(m["errcode"], m["page"], m["miniprogram_state"]) for m in sent] == [
        (0, "pages/flash/index?id=fs-test", "trial")]
