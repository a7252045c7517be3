import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FixedClock
from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff


def _link(client, guide_headers):
    return body_of(client.http.post("/guides/me/links", headers={**guide_headers, **JSON},
                                    body="{}"))["scene"]


@pytest.mark.parametrize("current, served_days_ago, new, expected", [
    (None, None, "g1", "bound"),
    ("g1", 3, "g1", "renewed"),
    ("g1", 29, "g2", "kept"),
    ("g1", 30, "g2", "rebound"),
    ("g1", 400, "g2", "rebound"),
])
def test_the_protection_period_decides(current, served_days_ago, new, expected):
    from chalicelib.guides.bindings import decide

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    served = now - timedelta(days=served_days_ago) if served_days_ago is not None else None
    assert decide(current, served, new, now, 30) == expected


def test_binding_across_the_protection_period(client, signed_in):
    from chalicelib.guides import bindings

    headers, session = signed_in
    member_id = session["member"]["member_id"]
    guide_a, guide_a_session = new_staff(client, "guide", STORE_A)
    guide_b, guide_b_session = new_staff(client, "guide", STORE_B)
    scene_a, scene_b = _link(client, guide_a), _link(client, guide_b)
    day0 = FixedClock(datetime(2026, 6, 1, tzinfo=timezone.utc))

    assert bindings.open_link(member_id, scene_a, day0)["action"] == "bound"
    day0.advance(timedelta(days=20))
    assert bindings.open_link(member_id, scene_b, day0)["action"] == "kept"
    assert bindings.open_link(member_id, scene_a, day0)["action"] == "renewed"
    day0.advance(timedelta(days=29))
    assert bindings.open_link(member_id, scene_b, day0)["action"] == "kept"
    day0.advance(timedelta(days=2))
    assert bindings.open_link(member_id, scene_b, day0)["action"] == "rebound"

    me = body_of(client.http.get("/members/me", headers=headers))
    assert (me["guide_id"], me["current_store_id"]) == (guide_b_session["member"]["member_id"],
                                                        STORE_B)
    assert [e["action"] for e in bindings.history(member_id)] == ["bound", "kept", "kept",
                                                                  "rebound"]
    customers_of_b = body_of(client.http.get("/guides/me/customers", headers=guide_b))
    assert member_id in [c["member_id"] for c in customers_of_b["customers"]]
    customers_of_a = body_of(client.http.get("/guides/me/customers", headers=guide_a))
    assert member_id not in [c["member_id"] for c in customers_of_a["customers"]]


def test_opening_a_link_through_the_api(client, signed_in):
    headers, _ = signed_in
    guide, guide_session = new_staff(client, "guide", STORE_A)

    response = client.http.post("/bindings", headers={**headers, **JSON},
                                body=json.dumps({"scene": _link(client, guide)}))

    assert response.status_code == 200
    assert body_of(response) == {"action": "bound", "store_id": STORE_A,
                                 "guide_id": guide_session["member"]["member_id"]}


def test_a_manager_reassigns_a_leaving_guides_customers(client):
    from tests.conftest import WeChatUser, sign_in

    manager, _ = new_staff(client, "store_manager", STORE_A)
    leaving, leaving_session = new_staff(client, "guide", STORE_A)
    staying, staying_session = new_staff(client, "guide", STORE_A)
    scene = _link(client, leaving)
    shoppers = [sign_in(client, WeChatUser(f"{scene}-{n}"))[0] for n in range(3)]
    for shopper in shoppers:
        client.http.post("/bindings", headers={**shopper, **JSON},
                         body=json.dumps({"scene": scene}))
    leaving_id = leaving_session["member"]["member_id"]
    staying_id = staying_session["member"]["member_id"]

    response = client.http.post(f"/stores/{STORE_A}/guides/{leaving_id}/reassign",
                                headers={**manager, **JSON},
                                body=json.dumps({"to_guide_id": staying_id}))

    assert body_of(response)["moved"] == 3
    assert {body_of(client.http.get("/members/me", headers=s))["guide_id"]
            for s in shoppers} == {staying_id}
    other_manager, _ = new_staff(client, "store_manager", STORE_B)
    refused = client.http.post(f"/stores/{STORE_B}/guides/{staying_id}/reassign",
                               headers={**other_manager, **JSON},
                               body=json.dumps({"to_guide_id": leaving_id}))
    assert refused.status_code == 404
