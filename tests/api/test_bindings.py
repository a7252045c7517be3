import json
from datetime import datetime, timedelta, timezone

from chalicelib.core.clock import FixedClock
from tests.conftest import JSON, STORE_A, STORE_B, body_of, new_staff


def _link(client, guide_headers):
    return body_of(client.http.post("/guides/me/links", headers={**guide_headers, **JSON},
                                    body="{}"))["scene"]


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


def _bind(client, shopper_headers, scene):
    return client.http.post("/bindings", headers={**shopper_headers, **JSON},
                            body=json.dumps({"scene": scene}))


def _customers_of(client, guide_headers, count, prefix):
    from tests.conftest import WeChatUser, sign_in

    scene = _link(client, guide_headers)
    shoppers = [sign_in(client, WeChatUser(f"{prefix}-{scene}-{n}")) for n in range(count)]
    for headers, _ in shoppers:
        assert _bind(client, headers, scene).status_code == 200
    return [(headers, session["member"]["member_id"]) for headers, session in shoppers]


def _guide_of(client, headers):
    return body_of(client.http.get("/members/me", headers=headers))["guide_id"]


def test_a_guide_cannot_bind_themselves_through_their_own_link(client):
    from chalicelib.guides import bindings

    guide, session = new_staff(client, "guide", STORE_A)

    refused = _bind(client, guide, _link(client, guide))

    assert refused.status_code == 409
    assert body_of(refused)["error"]["code"] == "self_referral"
    assert _guide_of(client, guide) is None
    assert bindings.history(session["member"]["member_id"]) == []


def test_removing_a_guide_hands_their_customers_to_the_store(client, admin):
    from chalicelib.guides import bindings

    leaving, leaving_session = new_staff(client, "guide", STORE_A)
    leaving_id = leaving_session["member"]["member_id"]
    customers = _customers_of(client, leaving, 2, "to-store")

    removed = client.http.delete(f"/admin/staff/{leaving_id}", headers=admin)

    assert removed.status_code == 200, removed.body
    assert body_of(removed)["customers_moved"] == 2
    for headers, member_id in customers:
        me = body_of(client.http.get("/members/me", headers=headers))
        assert (me["guide_id"], me["current_store_id"]) == (None, STORE_A)
        assert [(e["action"], e["guide_id"], e["previous_guide_id"])
                for e in bindings.history(member_id)][-1] == ("released", None, leaving_id)
    assert client.http.get("/guides/me/customers", headers=leaving).status_code == 403


def test_removing_a_guide_hands_their_customers_to_a_named_guide_of_the_store(client, admin):
    leaving, leaving_session = new_staff(client, "guide", STORE_A)
    leaving_id = leaving_session["member"]["member_id"]
    staying, staying_session = new_staff(client, "guide", STORE_A)
    staying_id = staying_session["member"]["member_id"]
    elsewhere_id = new_staff(client, "guide", STORE_B)[1]["member"]["member_id"]
    clerk_id = new_staff(client, "clerk", STORE_A)[1]["member"]["member_id"]
    customers = _customers_of(client, leaving, 2, "to-guide")

    for wrong in (elsewhere_id, clerk_id, leaving_id, "nosuch"):
        refused = client.http.delete(f"/admin/staff/{leaving_id}?to_guide_id={wrong}",
                                     headers=admin)
        assert refused.status_code == 400, wrong
        assert body_of(refused)["error"]["code"] == "validation_error"
    refused = client.http.delete(f"/admin/staff/{clerk_id}?to_guide_id={staying_id}",
                                 headers=admin)
    assert refused.status_code == 400  # a clerk has no customers to hand over
    assert client.http.get("/staff/me", headers=leaving).status_code == 200  # nothing changed
    assert {_guide_of(client, headers) for headers, _ in customers} == {leaving_id}

    removed = client.http.delete(f"/admin/staff/{leaving_id}?to_guide_id={staying_id}",
                                 headers=admin)

    assert body_of(removed)["customers_moved"] == 2
    assert {_guide_of(client, headers) for headers, _ in customers} == {staying_id}
    listed = body_of(client.http.get("/guides/me/customers", headers=staying))["customers"]
    assert {member_id for _, member_id in customers} <= {c["member_id"] for c in listed}


def test_a_former_guides_link_binds_nobody_and_their_left_customers_can_be_reassigned(
        client, admin):
    """A customer the removal missed (bound again while it ran, or by a crash mid-way) is
    still the store's to move."""
    from chalicelib.members.models import Member
    from tests.conftest import WeChatUser, sign_in

    manager, _ = new_staff(client, "store_manager", STORE_A)
    leaving, leaving_session = new_staff(client, "guide", STORE_A)
    leaving_id = leaving_session["member"]["member_id"]
    staying_id = new_staff(client, "guide", STORE_A)[1]["member"]["member_id"]
    scene = _link(client, leaving)
    (left_behind, left_id), = _customers_of(client, leaving, 1, "left")
    assert client.http.delete(f"/admin/staff/{leaving_id}", headers=admin).status_code == 200
    Member(left_id).update(actions=[Member.guide_id.set(leaving_id)])  # missed by the move

    newcomer, _ = sign_in(client, WeChatUser(f"late-{scene}"))
    assert _bind(client, newcomer, scene).status_code == 404
    assert _guide_of(client, newcomer) is None
    other_manager, _ = new_staff(client, "store_manager", STORE_B)
    across = client.http.post(f"/stores/{STORE_B}/guides/{leaving_id}/reassign",
                              headers={**other_manager, **JSON},
                              body=json.dumps({"to_guide_id": staying_id}))
    assert across.status_code == 404
    to_former = client.http.post(f"/stores/{STORE_A}/guides/{staying_id}/reassign",
                                 headers={**manager, **JSON},
                                 body=json.dumps({"to_guide_id": leaving_id}))
    assert to_former.status_code == 404

    response = client.http.post(f"/stores/{STORE_A}/guides/{leaving_id}/reassign",
                                headers={**manager, **JSON},
                                body=json.dumps({"to_guide_id": staying_id}))

    assert response.status_code == 200, response.body
    assert body_of(response)["moved"] == 1
    assert _guide_of(client, left_behind) == staying_id
