"""Offline members come back: the POS/CRM import, and a WeChat member binding the phone of
an imported member, which makes the two one member exactly once."""
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import JSON, STORE_A, WeChatUser, body_of, sign_in

CSV = {"Content-Type": "text/csv"}


def fresh_phone():
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def import_csv(client, admin, text):
    response = client.http.post("/admin/members/import", headers={**admin, **CSV}, body=text)
    assert response.status_code == 200, response.body
    return body_of(response)


def imported_member_id(client, admin, phone, columns="name", values="陈静"):
    """Imports one member by phone (with more columns, if given) and returns their id."""
    import_csv(client, admin, f"phone,{columns}\n{phone},{values}\n")
    [found] = body_of(client.http.get(f"/admin/members?phone={phone}",
                                      headers=admin))["members"]
    return found["member_id"]


def bind(client, headers, phone, nonce):
    return client.http.post("/members/me/phone", headers={**headers, **JSON},
                            body=json.dumps({"code": f"sandbox-phone:{phone}:{nonce}"}))


def test_import_reports_bad_rows_by_number_and_lands_the_good_ones(client, admin):
    good_a, good_b = fresh_phone(), fresh_phone()
    text = ("phone,name,level,points,store_id,joined_on\n"
            f"{good_a},王芳,gold,1200,{STORE_A},2023-05-01\n"
            "12345,李雷,,0,,\n"
            f"{fresh_phone()},韩梅梅,diamond,0,,\n"
            f"{fresh_phone()},赵,,-5,,\n"
            f"{fresh_phone()},钱,,10,no-such-store,\n"
            f"{fresh_phone()},孙,,10,,2023-13-01\n"
            f"{good_b},周,,,,\n"
            f"{good_a},重复,,,,\n")

    report = import_csv(client, admin, text)

    assert report["rows"] == 8
    assert report["imported"] == 2
    assert [(r["row"], r["error"].split()[0]) for r in report["rejected"]] == [
        (3, "phone"), (4, "level"), (5, "points"), (6, "store"), (7, "joined_on"), (9, "phone")]
    assert "repeats row 2" in report["rejected"][-1]["error"]
    found = body_of(client.http.get(f"/admin/members?phone={good_a}", headers=admin))["members"]
    assert [(m["name"], m["level"]["code"], m["points_balance"], m["home_store_id"])
            for m in found] == [("王芳", "gold", 1200, STORE_A)]


def test_importing_the_same_file_twice_changes_nothing(client, admin):
    phones = [fresh_phone() for _ in range(30)]
    text = "phone,name,points\n" + "".join(f"{p},会员{i},{100 + i}\n" for i, p in enumerate(phones))
    first = import_csv(client, admin, text)
    member_id = body_of(client.http.get(f"/admin/members?phone={phones[0]}",
                                        headers=admin))["members"][0]["member_id"]
    spent = client.http.post(f"/admin/members/{member_id}/points", headers={**admin, **JSON},
                             body=json.dumps({"delta": -40, "reason": "gift",
                                              "adjustment_id": "adj-import-twice"}))
    assert spent.status_code == 201

    second = import_csv(client, admin, text)

    assert (first["imported"], first["already_members"]) == (30, 0)
    assert (second["imported"], second["already_members"]) == (0, 30)
    after = body_of(client.http.get(f"/admin/members/{member_id}", headers=admin))
    assert after["points_balance"] == 100 - 40


def test_a_gbk_export_from_a_store_system_imports(client, admin):
    phone = fresh_phone()
    report = client.http.post("/admin/members/import", headers={**admin, **CSV},
                              body=f"phone,name\n{phone},欧阳娜娜\n".encode("gb18030"))

    assert body_of(report)["imported"] == 1
    member = body_of(client.http.get(f"/admin/members?phone={phone}", headers=admin))
    assert member["members"][0]["name"] == "欧阳娜娜"


def test_binding_a_phone_nobody_has_just_binds_it(client, signed_in):
    headers, session = signed_in
    phone = fresh_phone()

    response = bind(client, headers, phone, 1)

    assert response.status_code == 200
    assert body_of(response)["member"]["member_id"] == session["member"]["member_id"]
    assert body_of(response)["member"]["phone"] == phone


def test_binding_an_imported_phone_merges_once_keeping_points_level_and_store(client, admin):
    from chalicelib.members.models import Member

    phone = fresh_phone()
    imported_id = imported_member_id(client, admin, phone, "name,level,points,store_id",
                                     f"陈静,gold,800,{STORE_A}")
    shopper = WeChatUser(f"merge-{phone}")
    headers, session = sign_in(client, shopper)
    wechat_only_id = session["member"]["member_id"]
    client.http.post(f"/admin/members/{wechat_only_id}/points", headers={**admin, **JSON},
                     body=json.dumps({"delta": 25, "reason": "welcome",
                                      "adjustment_id": f"welcome-{phone}"}))

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda n: bind(client, headers, phone, n), range(6)))

    assert {a.status_code for a in answers} == {200}
    merged = {body_of(a)["member"]["member_id"] for a in answers}
    assert merged == {imported_id}
    new_headers = {"Authorization": f"Bearer {body_of(answers[0])['access_token']}"}
    me = body_of(client.http.get("/members/me", headers=new_headers))
    assert (me["level"]["code"], me["points_balance"], me["home_store_id"]) == ("gold", 825,
                                                                               STORE_A)
    assert Member.get(imported_id).openid == Member.get(wechat_only_id).openid
    # The old token and a new login both reach the merged member.
    assert body_of(client.http.get("/members/me", headers=headers))["member_id"] == imported_id
    assert sign_in(client, shopper)[1]["member"]["member_id"] == imported_id
    ledger = body_of(client.http.get("/members/me/points", headers=new_headers))
    assert [(e["source"], e["delta"]) for e in reversed(ledger["entries"])] == [
        ("import", 800), ("merge", 25)]


def test_a_phone_of_another_wechat_member_cannot_be_taken(client, signed_in):
    phone = fresh_phone()
    other_headers, _ = sign_in(client, WeChatUser(f"owner-{phone}"))
    assert bind(client, other_headers, phone, 1).status_code == 200
    headers, _ = signed_in

    response = bind(client, headers, phone, 2)

    assert response.status_code == 409
    assert body_of(response)["error"]["code"] == "phone_taken"


def test_a_phone_code_five_minutes_old_is_refused_as_wechat_refuses_it(client, signed_in,
                                                                       sandbox_url):
    headers, _ = signed_in
    minted = requests.post(f"{sandbox_url}/__sandbox__/phone_codes", timeout=5,
                           json={"phone": fresh_phone()}).json()["code"]
    requests.post(f"{sandbox_url}/__sandbox__/clock/advance", json={"seconds": 301},
                  timeout=5).raise_for_status()

    response = client.http.post("/members/me/phone", headers={**headers, **JSON},
                                body=json.dumps({"code": minted}))

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "wechat_code_invalid"


@pytest.mark.parametrize("code", ["sandbox-phone:not-digits:1", "nonsense"])
def test_a_bad_phone_code_is_refused(client, signed_in, code):
    headers, _ = signed_in
    response = client.http.post("/members/me/phone", headers={**headers, **JSON},
                                body=json.dumps({"code": code}))

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "wechat_code_invalid"


def test_a_merge_whose_carry_over_fails_is_finished_by_the_events_job(client, admin,
                                                                       monkeypatch):
    from datetime import datetime, timedelta, timezone

    from chalicelib.core.clock import FixedClock
    from chalicelib.members.models import Member
    from tests.faults import inject, touches

    phone = fresh_phone()
    imported_id = imported_member_id(client, admin, phone, "name,points", "陈静,800")
    headers, session = sign_in(client, WeChatUser(f"merge-{phone}"))
    wechat_only_id = session["member"]["member_id"]
    client.http.post(f"/admin/members/{wechat_only_id}/points", headers={**admin, **JSON},
                     body=json.dumps({"delta": 25, "reason": "welcome",
                                      "adjustment_id": f"welcome-{phone}"}))
    # DynamoDB fails as the points are written to the imported member.
    failed = inject(monkeypatch, "TransactWriteItems",
                    touches("points-ledger", member_id=imported_id))

    answer = bind(client, headers, phone, 1)

    assert failed and answer.status_code == 200, answer.body
    assert body_of(answer)["member"]["member_id"] == imported_id
    from chalicelib import wiring as subscribers

    later = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=10))
    subscribers.run_job(later)
    subscribers.run_job(later)

    merged = Member.get(imported_id, consistent_read=True)
    left = Member.get(wechat_only_id, consistent_read=True)
    assert (merged.points_balance, left.points_balance) == (825, 0)
    assert merged.points_balance - merged.points_debt + left.points_balance == 825
