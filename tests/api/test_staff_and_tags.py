import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FixedClock
from tests.conftest import JSON, STORE_A, STORE_B, WeChatUser, body_of, new_staff, sign_in


def test_an_invite_code_works_once_and_gives_its_store_role(client, admin):
    invite = client.http.post("/admin/staff/invites", headers={**admin, **JSON},
                              body=json.dumps({"role": "clerk", "store_id": STORE_A,
                                               "name": "小李"}))
    assert invite.status_code == 201
    code = body_of(invite)["code"]
    clerk, _ = sign_in(client, WeChatUser(f"clerk-{code}"))
    someone_else, _ = sign_in(client, WeChatUser(f"late-{code}"))

    claimed = client.http.post("/staff/invites/claim", headers={**clerk, **JSON},
                               body=json.dumps({"code": code.lower()}))
    again = client.http.post("/staff/invites/claim", headers={**someone_else, **JSON},
                             body=json.dumps({"code": code}))

    assert (body_of(claimed)["role"], body_of(claimed)["store_id"]) == ("clerk", STORE_A)
    assert again.status_code == 409
    assert client.http.get("/staff/me", headers=someone_else).status_code == 404


def test_store_roles_need_a_real_store(client, admin):
    for body in ({"role": "guide"}, {"role": "guide", "store_id": "nowhere"},
                 {"role": "admin", "store_id": STORE_A}):
        response = client.http.post("/admin/staff/invites", headers={**admin, **JSON},
                                    body=json.dumps(body))
        assert response.status_code in (400, 404), body


def test_a_removed_manager_loses_the_store_at_once(client, admin):
    manager, session = new_staff(client, "store_manager", STORE_B)
    assert client.http.get(f"/stores/{STORE_B}/staff", headers=manager).status_code == 200

    removed = client.http.delete(f"/admin/staff/{session['member']['member_id']}",
                                 headers=admin)

    assert removed.status_code == 200
    assert client.http.get(f"/stores/{STORE_B}/staff", headers=manager).status_code == 403


def test_a_store_lists_only_its_own_staff(client):
    manager, _ = new_staff(client, "store_manager", STORE_A)
    guide_a = new_staff(client, "guide", STORE_A)[1]["member"]["member_id"]
    guide_b = new_staff(client, "guide", STORE_B)[1]["member"]["member_id"]

    listed = {s["member_id"] for s in body_of(client.http.get(f"/stores/{STORE_A}/staff",
                                                              headers=manager))["staff"]}

    assert guide_a in listed and guide_b not in listed


def _shopper_of(client, store_id):
    from chalicelib.members.models import Member

    member_id = sign_in(client, WeChatUser(f"tagged-{uuid.uuid4().hex[:8]}"))[1]["member"][
        "member_id"]
    Member(member_id).update(actions=[Member.home_store_id.set(store_id)])
    return member_id


def test_segments_by_tags_and_store(client, admin):
    tag, other = f"t{uuid.uuid4().hex[:8]}", f"u{uuid.uuid4().hex[:8]}"
    in_a_both, in_a_one, in_b_both = (_shopper_of(client, STORE_A), _shopper_of(client, STORE_A),
                                      _shopper_of(client, STORE_B))
    clerk_a = new_staff(client, "clerk", STORE_A)[0]
    for member_id, tags in ((in_a_both, [tag, other]), (in_a_one, [tag]),
                            (in_b_both, [tag, other])):
        for t in tags:
            client.http.post(f"/admin/members/{member_id}/tags", headers={**admin, **JSON},
                             body=json.dumps({"tag": t}))
    assert client.http.post(f"/stores/{STORE_A}/members/{in_a_one}/tags",
                            headers={**clerk_a, **JSON},
                            body=json.dumps({"tag": "爱喝茶"})).status_code == 200

    def search(query):
        found = body_of(client.http.get(f"/admin/members?{query}", headers=admin))["members"]
        return {m["member_id"] for m in found}

    assert search(f"tags={tag}") == {in_a_both, in_a_one, in_b_both}
    assert search(f"tags={tag},{other}") == {in_a_both, in_b_both}
    assert search(f"tags={tag},{other}&store_id={STORE_A}") == {in_a_both}
    untagged = client.http.delete(f"/admin/members/{in_a_both}/tags/{other}", headers=admin)
    assert "爱喝茶" not in body_of(untagged)["tags"]
    assert search(f"tags={tag},{other}&store_id={STORE_A}") == set()


def test_computed_tags_follow_orders_and_the_calendar(local_services):
    from chalicelib.core.ids import new_id
    from chalicelib.members import tags
    from chalicelib.members.models import Member

    member_id = new_id("m")
    Member(member_id, created_at=datetime.now(timezone.utc)).save()
    ordered = FixedClock(datetime(2025, 6, 1, 4, tzinfo=timezone.utc))
    tags.record_order(member_id, "o-1", 600_000, ordered)
    assert Member.get(member_id).tags == {tags.RECENT_BUYER, tags.TOP_SPENDER}

    tags.refresh_computed_tags(date(2025, 7, 1))  # 30 days later
    assert Member.get(member_id).tags == {tags.TOP_SPENDER}
    tags.refresh_computed_tags(date(2025, 8, 30))  # 90 days later
    assert Member.get(member_id).tags == {tags.TOP_SPENDER, tags.DORMANT}
    assert member_id in tags.segment([tags.DORMANT], limit=1000)["member_ids"]

    tags.record_order(member_id, "o-2", 1_000, FixedClock(datetime(2025, 9, 2, tzinfo=timezone.utc)))
    assert Member.get(member_id).tags == {tags.TOP_SPENDER, tags.RECENT_BUYER}
    tags.refresh_computed_tags(date(2025, 8, 30) + timedelta(days=1))  # nothing due that day
    assert tags.DORMANT not in Member.get(member_id).tags


def _admin_count():
    from chalicelib.members import staff

    return staff.admin_count()


def _set_admin_count(count):
    from chalicelib.members import staff
    from chalicelib.db.settings import BrandSetting

    BrandSetting(staff.ADMIN_COUNT).update(actions=[BrandSetting.counter.set(count)])


def test_the_last_admin_cannot_be_removed_even_by_two_admins_at_once(client):
    """The suite's brand has many admins; this test makes it one of exactly two (A and B),
    then puts the count back as it finds it."""
    from chalicelib.errors import DomainError
    from chalicelib.members import staff

    before = _admin_count()
    first, first_session = new_staff(client, "admin")
    second, second_session = new_staff(client, "admin")
    first_id, second_id = (s["member"]["member_id"] for s in (first_session, second_session))
    assert _admin_count() == before + 2  # claiming an admin invite counts them
    _set_admin_count(2)
    try:
        # A removes B while B removes A: B's request passed the door while B was an admin,
        # and reaches the removal after A's.
        assert client.http.delete(f"/admin/staff/{second_id}", headers=first).status_code == 200
        with pytest.raises(DomainError) as refused:
            staff.remove(first_id)
        assert refused.value.code == "last_admin"
        myself = client.http.delete(f"/admin/staff/{first_id}", headers=first)

        assert myself.status_code == 409
        assert body_of(myself)["error"]["code"] == "last_admin"
        assert body_of(client.http.get("/staff/me", headers=first))["role"] == "admin"
        assert client.http.get("/staff/me", headers=second).status_code == 404
        assert _admin_count() == 1
    finally:
        _set_admin_count(before + 2 - (2 - _admin_count()))


def test_a_former_staff_member_can_be_invited_again(client, admin):
    from chalicelib.members import staff

    clerk, session = new_staff(client, "clerk", STORE_A)
    member_id = session["member"]["member_id"]
    manager, _ = new_staff(client, "store_manager", STORE_A)
    assert client.http.delete(f"/admin/staff/{member_id}", headers=admin).status_code == 200
    listed = body_of(client.http.get(f"/stores/{STORE_A}/staff", headers=manager))["staff"]
    assert member_id not in {s["member_id"] for s in listed}

    code = staff.invite("guide", STORE_B, None, "test")["code"]
    claimed = client.http.post("/staff/invites/claim", headers={**clerk, **JSON},
                               body=json.dumps({"code": code}))

    assert claimed.status_code == 200, claimed.body
    assert (body_of(client.http.get("/staff/me", headers=clerk))["store_id"]) == STORE_B
