"""Sessions: refresh tokens rotate and a reused one ends its family, sign-out, an admin's block,
and tokens that keep working for the member a phone merge made."""
import json
from datetime import datetime, timezone

import pytest

from bench.members import counting_dynamodb_requests
from tests.api.test_checkout import _sku
from tests.api.test_import_and_phone import bind, fresh_phone, imported_member_id
from tests.conftest import JSON, STORE_A, WeChatUser, body_of, new_staff, sign_in


def _bearer(session):
    return {"Authorization": f"Bearer {session['access_token']}"}


def _refresh(client, refresh_token):
    return client.http.post("/auth/refresh", headers=JSON,
                            body=json.dumps({"refresh_token": refresh_token}))


def _me(client, session):
    return client.http.get("/members/me", headers=_bearer(session))


def _error(response):
    return response.status_code, body_of(response)["error"]["code"]


def test_a_refresh_answers_a_new_pair_and_makes_the_old_refresh_token_stale(client, signed_in):
    _, first = signed_in

    second = body_of(_refresh(client, first["refresh_token"]))
    third = body_of(_refresh(client, second["refresh_token"]))

    assert second["refresh_token"] != first["refresh_token"]
    assert third["member"]["member_id"] == first["member"]["member_id"]
    assert _me(client, third).status_code == 200
    assert _me(client, first).status_code == 200  # access tokens live out their 2 hours


def test_a_reused_refresh_token_ends_its_whole_family(client, wechat_user):
    _, first = sign_in(client, wechat_user)
    _, elsewhere = sign_in(client, wechat_user)  # another sign-in: another family
    second = body_of(_refresh(client, first["refresh_token"]))

    reused = _refresh(client, first["refresh_token"])

    assert _error(reused) == (401, "unauthorized")
    assert _error(_refresh(client, second["refresh_token"])) == (401, "unauthorized")
    assert _me(client, first).status_code == _me(client, second).status_code == 401
    assert _me(client, elsewhere).status_code == 200


def test_a_refresh_that_loses_the_race_to_another_with_the_same_token_ends_the_family(
        client, signed_in):
    from chalicelib.core import tokens
    from chalicelib.errors import DomainError
    from chalicelib.members import sessions

    _, first = signed_in
    claims = tokens.verify(first["refresh_token"], tokens.REFRESH)
    stale = sessions.family_of(claims)  # read by a refresh that is then overtaken
    winner = body_of(_refresh(client, first["refresh_token"]))

    with pytest.raises(DomainError) as refused:
        sessions.rotate(stale, claims)

    assert refused.value.code == "unauthorized"
    assert _error(_refresh(client, winner["refresh_token"])) == (401, "unauthorized")
    assert _me(client, winner).status_code == 401


def test_signing_out_ends_the_callers_session_only(client, wechat_user):
    _, mine = sign_in(client, wechat_user)
    _, other_phone = sign_in(client, wechat_user)

    out = client.http.post("/auth/logout", headers={**_bearer(mine), **JSON}, body="{}")

    assert out.status_code == 200
    assert _me(client, mine).status_code == 401
    assert _error(_refresh(client, mine["refresh_token"])) == (401, "unauthorized")
    assert _me(client, other_phone).status_code == 200


def test_a_token_that_names_no_session_is_refused(client, signed_in):
    from chalicelib.core import tokens

    _, session = signed_in
    sessionless = tokens.issue(session["member"]["member_id"], tokens.ACCESS, 7200)

    response = client.http.get("/members/me", headers={"Authorization": f"Bearer {sessionless}"})

    assert _error(response) == (401, "unauthorized")


def _block(client, admin, member_id, action="block"):
    return client.http.post(f"/admin/members/{member_id}/{action}", headers={**admin, **JSON},
                            body="{}")


def test_a_blocked_member_is_refused_at_once_everywhere_until_unblocked(client, admin,
                                                                       wechat_user):
    _, phone_a = sign_in(client, wechat_user)
    _, phone_b = sign_in(client, wechat_user)
    member_id = phone_a["member"]["member_id"]

    blocked = _block(client, admin, member_id)

    assert blocked.status_code == 200 and body_of(blocked)["blocked"] is True
    for session in (phone_a, phone_b):
        for path in ("/members/me", f"/cart/{STORE_A}", "/members/me/orders"):
            assert client.http.get(path, headers=_bearer(session)).status_code == 401, path
        assert _error(_refresh(client, session["refresh_token"])) == (403, "member_blocked")
    login = client.http.post("/auth/login", headers=JSON,
                             body=json.dumps({"code": wechat_user.login_code()}))
    assert _error(login) == (403, "member_blocked")

    unblocked = _block(client, admin, member_id, "unblock")

    assert unblocked.status_code == 200 and body_of(unblocked)["blocked"] is False
    _, again = sign_in(client, wechat_user)
    assert _me(client, again).status_code == 200
    assert _me(client, phone_a).status_code == 401  # the sessions it ended stay ended


def test_staff_cannot_be_blocked_until_their_role_ends(client, admin):
    _, guide = new_staff(client, "guide", STORE_A)

    response = _block(client, admin, guide["member"]["member_id"])

    assert _error(response) == (409, "conflict")
    assert _me(client, guide).status_code == 200


def test_blocking_an_unknown_member_is_not_found(client, admin):
    assert _error(_block(client, admin, "m_nosuch")) == (404, "not_found")


def _merged_pair(client, admin):
    """A WeChat member who bound the phone of an imported member: (their login before the
    merge, the answer of the binding, the imported member's id)."""
    phone = fresh_phone()
    imported_id = imported_member_id(client, admin, phone, values="许")
    headers, before = sign_in(client, WeChatUser(f"merge-{phone}"))
    bound = body_of(bind(client, headers, phone, 1))
    assert bound["member"]["member_id"] == imported_id
    return before, bound, imported_id


def test_tokens_of_a_merged_away_member_act_for_the_merged_member_on_every_route(client,
                                                                                admin):
    before, bound, imported_id = _merged_pair(client, admin)
    sku = _sku(stock=3)

    added = client.http.post(f"/cart/{STORE_A}/items", headers={**_bearer(before), **JSON},
                             body=json.dumps({"sku_id": sku, "quantity": 2}))

    assert added.status_code == 200, added.body
    cart = body_of(client.http.get(f"/cart/{STORE_A}", headers=_bearer(bound)))
    assert [(i["sku_id"], i["quantity"]) for i in cart["items"]] == [(sku, 2)]
    refreshed = body_of(_refresh(client, before["refresh_token"]))
    assert refreshed["member"]["member_id"] == imported_id


def test_blocking_the_merged_member_ends_the_sessions_from_before_the_merge(client, admin):
    before, bound, imported_id = _merged_pair(client, admin)

    assert _block(client, admin, imported_id).status_code == 200

    assert _me(client, before).status_code == _me(client, bound).status_code == 401


def test_the_door_reads_dynamodb_once_and_a_login_costs_what_it_did(client, wechat_user):
    from chalicelib import wechat
    from chalicelib.api.routing import _bearer_member_id
    from chalicelib.members import accounts as services

    _, session = sign_in(client, wechat_user)
    with counting_dynamodb_requests() as at_the_door:
        _bearer_member_id({"authorization": f"Bearer {session['access_token']}"})
    with counting_dynamodb_requests() as logging_in:
        services.login(wechat_user.login_code(), wechat.mini_program())

    assert at_the_door == ["GetItem"]
    # the identity, the member, one transaction, the loyalty program (the code is exchanged
    # with the app secret: no access token is read)
    assert len(logging_in) == 4, logging_in


def test_sessions_follow_a_merge_even_when_moving_them_fails_the_first_time(client, admin,
                                                                          monkeypatch):
    from datetime import timedelta

    from chalicelib.core.clock import FixedClock
    from chalicelib import wiring as subscribers
    from tests.faults import inject, touches

    phone = fresh_phone()
    imported_id = imported_member_id(client, admin, phone, values="许")
    person = WeChatUser(f"merge-{phone}")
    headers, before = sign_in(client, person)
    # DynamoDB fails as the sessions of the WeChat record are moved to the imported member.
    failed = inject(monkeypatch, "UpdateItem", touches("sessions"))

    bound = bind(client, headers, phone, 1)

    assert bound.status_code == 200 and failed
    later = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=10))
    subscribers.run_job(later)

    sku = _sku(stock=3)
    client.http.post(f"/cart/{STORE_A}/items", headers={**_bearer(before), **JSON},
                     body=json.dumps({"sku_id": sku, "quantity": 1}))
    _, again = sign_in(client, person)
    assert again["member"]["member_id"] == imported_id
    cart = body_of(client.http.get(f"/cart/{STORE_A}", headers=_bearer(again)))
    assert [(i["sku_id"], i["quantity"]) for i in cart["items"]] == [(sku, 1)]
