"""Every route, called by every kind of caller: only those the route admits get past the
door, and the door answers 401 (no token) or 403 (wrong role or store) to everyone else."""
import json
import re

import pytest

import app  # noqa: F401  (declares every route)
from chalicelib.api.routing import ROUTES
from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, new_staff, sign_in

PERSONAS = [
    ("anonymous", None, None),
    ("shopper", None, None),
    ("guide", "guide", STORE_A),
    ("clerk", "clerk", STORE_A),
    ("manager", "store_manager", STORE_A),
    ("other_store_manager", "store_manager", STORE_B),
    ("admin", "admin", None),
]


@pytest.fixture(scope="module")
def callers(local_services):
    from chalice.test import Client

    import app as yutang

    with Client(yutang.app, stage_name="test") as client:
        headers = {"anonymous": {}}
        headers["shopper"] = sign_in(client, WeChatUser("roles-shopper"))[0]
        for name, role, store_id in PERSONAS[2:]:
            headers[name] = new_staff(client, role, store_id)[0]
        target = sign_in(client, WeChatUser("roles-target"))[1]["member"]["member_id"]
    return headers, target


def _admits(spec, persona):
    name, role, store_id = next(p for p in PERSONAS if p[0] == persona)
    if spec.auth.kind in ("public", "visitor"):
        return True
    if name == "anonymous":
        return False
    if spec.auth.kind == "member":
        return True
    if role not in spec.auth.roles:
        return False
    return role == "admin" or not spec.auth.store_param or store_id == STORE_A


def _url(spec, target_member):
    values = {"store_id": STORE_A, "member_id": target_member, "tag": "vip", "scene": "nosuch",
              "guide_id": "nosuch", "product_id": "nosuch", "category_id": "nosuch",
              "order_id": "nosuch", "coupon_id": "nosuch", "sale_id": "nosuch",
              "campaign_id": "nosuch", "group_id": "nosuch", "session_id": "nosuch",
              "sku_id": "p-oolong-250g", "task_id": "nosuch", "refund_id": "nosuch"}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], spec.path)


CASES = [(spec, persona) for spec in ROUTES for persona, _, _ in PERSONAS]


def _own_session(client, headers):
    """Another session of the caller, for routes that end the one they are called with."""
    from chalicelib.members import sessions

    if not headers:
        return headers
    member_id = json.loads(client.http.get("/members/me", headers=headers).body)["member_id"]
    return {"Authorization": f"Bearer {sessions.start(member_id)['access_token']}"}


@pytest.mark.parametrize("spec, persona", CASES,
                         ids=[f"{s.method} {s.path} as {p}" for s, p in CASES])
def test_route_admits_exactly_its_callers(client, callers, spec, persona):
    headers, target = callers
    body = "" if spec.content_type == "text/csv" else "{}"
    caller = headers[persona]
    if spec.path == "/auth/logout":
        caller = _own_session(client, caller)
    response = client.http.request(spec.method, _url(spec, target), body=body,
                                   headers={**caller, "Content-Type": spec.content_type})

    if _admits(spec, persona):
        assert response.status_code not in (401, 403), response.body
    else:
        assert response.status_code == (401 if persona == "anonymous" else 403), response.body
        assert json.loads(response.body)["error"]["code"] in ("unauthorized", "forbidden")


def test_admin_routes_admit_only_admins():
    for spec in ROUTES:
        if spec.path.startswith("/admin/"):
            assert spec.auth.roles == ("admin",), spec.path


def test_store_routes_are_bound_to_the_store_in_their_path():
    for spec in ROUTES:
        if spec.path.startswith("/stores/{store_id}/") and spec.auth.kind == "staff":
            assert spec.auth.store_param == "store_id", spec.path


def test_store_staff_cannot_reach_members_of_another_store(client, local_services):
    from chalicelib.members.models import Member

    manager_a = new_staff(client, "store_manager", STORE_A)[0]
    _, session = sign_in(client, WeChatUser("member-of-b"))
    member_id = session["member"]["member_id"]
    Member(member_id).update(actions=[Member.home_store_id.set(STORE_B)])

    response = client.http.post(f"/stores/{STORE_A}/members/{member_id}/tags",
                                headers={**manager_a, **JSON}, body=json.dumps({"tag": "vip"}))

    assert response.status_code == 404
    assert not Member.get(member_id).tags


def test_a_member_only_ever_sees_themselves(client):
    mine, my_session = sign_in(client, WeChatUser("self-a"))
    theirs, their_session = sign_in(client, WeChatUser("self-b"))

    assert json.loads(client.http.get("/members/me", headers=mine).body)["member_id"] == \
        my_session["member"]["member_id"]
    assert json.loads(client.http.get("/members/me", headers=theirs).body)["member_id"] == \
        their_session["member"]["member_id"]
    other = their_session["member"]["member_id"]
    assert client.http.get(f"/admin/members/{other}", headers=mine).status_code == 403
