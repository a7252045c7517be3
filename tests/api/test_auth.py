import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.conftest import body_of

JSON = {"Content-Type": "application/json"}


def login(client, code):
    return client.http.post("/auth/login", headers=JSON, body=json.dumps({"code": code}))


def test_login_returns_tokens_and_the_member_but_never_the_session_key(client, wechat_user):
    response = login(client, wechat_user.login_code())

    assert response.status_code == 200
    session = body_of(response)
    assert session["expires_in"] == 7200
    assert session["member"]["member_id"]
    assert not {"openid", "unionid", "session_key"} & set(session["member"])
    assert "session_key" not in response.body.decode()


def test_the_same_person_signing_in_again_is_the_same_member(client, wechat_user):
    first = body_of(login(client, wechat_user.login_code()))
    second = body_of(login(client, wechat_user.login_code()))

    assert first["member"]["member_id"] == second["member"]["member_id"]


def test_a_returning_member_signs_in_with_at_most_four_dynamodb_requests_and_no_token(
        client, wechat_user, monkeypatch):
    """Each DynamoDB request is billed and waited for. Exchanging the code takes the app
    secret, not the access token: signing in reads no token."""
    from botocore.client import BaseClient

    from chalicelib.wechat.models import WeChatToken

    assert login(client, wechat_user.login_code()).status_code == 200  # the first sign-in
    sent, send = [], BaseClient._make_api_call

    def recorded(aws_client, operation, params):
        if aws_client.meta.service_model.service_name == "dynamodb":
            sent.append((operation, params.get("TableName")))
        return send(aws_client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    response = login(client, wechat_user.login_code())

    assert response.status_code == 200
    assert len(sent) <= 4, sent
    assert ("GetItem", WeChatToken.Meta.table_name) not in sent, sent


def test_a_code_exchanged_with_a_wrong_app_secret_signs_no_one_in(local_services, wechat_user):
    """Without an access token in the way, the app secret alone vouches for the exchange."""
    from chalicelib.config import settings
    from chalicelib.errors import DomainError
    from chalicelib.members import accounts
    from chalicelib.wechat.wechatpy_adapter import WeChatPyMiniProgram

    impostor = WeChatPyMiniProgram(settings.wechat_app_id, lambda: "not-the-app-secret",
                                   settings.wechat_api_base)

    with pytest.raises(DomainError) as refused:
        accounts.login(wechat_user.login_code(), impostor)
    assert refused.value.code == "wechat_unavailable"


def test_two_people_are_two_members(client, wechat_user):
    from tests.conftest import WeChatUser

    other = WeChatUser(wechat_user.name + "-friend")
    mine = body_of(login(client, wechat_user.login_code()))["member"]
    theirs = body_of(login(client, other.login_code()))["member"]

    assert mine["member_id"] != theirs["member_id"]


def test_racing_first_logins_of_one_person_make_one_member(client, wechat_user):
    codes = [wechat_user.login_code() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda code: login(client, code), codes))

    assert [r.status_code for r in responses] == [200] * 8, [r.body for r in responses]
    assert len({body_of(r)["member"]["member_id"] for r in responses}) == 1


def test_a_used_code_is_refused_and_creates_nothing(client, wechat_user):
    code = wechat_user.login_code()
    assert login(client, code).status_code == 200

    response = login(client, code)

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "wechat_code_invalid"


def test_a_code_is_refused_once_five_minutes_old_as_wechat_refuses_it(client, sandbox_url,
                                                                      wechat_user):
    def sandbox(path, body):
        response = requests.post(f"{sandbox_url}/__sandbox__/{path}", json=body, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    fresh, stale = (sandbox("login_codes", {"user": wechat_user.name})["code"] for _ in range(2))
    sandbox("clock/advance", {"seconds": 299})
    assert login(client, fresh).status_code == 200
    sandbox("clock/advance", {"seconds": 2})

    response = login(client, stale)

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "wechat_code_invalid"


@pytest.mark.parametrize("body, expected_code", [
    ("{}", "validation_error"),
    ('{"code": 12}', "validation_error"),
    ('{"code": ""}', "validation_error"),
    ('{"code": "x", "extra": 1}', "validation_error"),
    ("not json", "invalid_json"),
    ("", "validation_error"),
])
def test_bad_login_bodies_get_a_4xx_in_the_error_shape(client, body, expected_code):
    response = client.http.post("/auth/login", headers=JSON, body=body)

    assert response.status_code == 400
    error = body_of(response)["error"]
    assert error["code"] == expected_code
    assert error["message"]


def test_me_returns_the_signed_in_member(client, signed_in):
    headers, session = signed_in

    response = client.http.get("/members/me", headers=headers)

    assert response.status_code == 200
    assert body_of(response) == session["member"]


def _expired_token(member_id):
    from chalicelib.core import tokens
    from chalicelib.core.clock import FixedClock

    two_hours_ago = FixedClock(datetime.now(timezone.utc) - timedelta(hours=2, seconds=1))
    return tokens.issue(member_id, tokens.ACCESS, 7200, clock=two_hours_ago)


@pytest.mark.parametrize("make_header", [
    lambda session: None,
    lambda session: "Bearer",
    lambda session: "Basic " + session["access_token"],
    lambda session: "Bearer " + session["access_token"][:-2] + "xx",
    lambda session: "Bearer " + session["refresh_token"],
    lambda session: "Bearer " + _expired_token(session["member"]["member_id"]),
], ids=["missing", "empty", "not-bearer", "forged", "refresh-token", "expired"])
def test_me_without_a_valid_access_token_is_401(client, signed_in, make_header):
    _, session = signed_in
    header = make_header(session)
    headers = {} if header is None else {"Authorization": header}

    response = client.http.get("/members/me", headers=headers)

    assert response.status_code == 401
    assert body_of(response)["error"]["code"] in ("unauthorized", "token_expired")


def test_refresh_gives_a_working_access_token(client, signed_in):
    _, session = signed_in

    response = client.http.post("/auth/refresh", headers=JSON,
                                body=json.dumps({"refresh_token": session["refresh_token"]}))

    assert response.status_code == 200
    fresh = body_of(response)
    me = client.http.get("/members/me",
                         headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert body_of(me)["member_id"] == session["member"]["member_id"]


def test_an_access_token_cannot_be_used_to_refresh(client, signed_in):
    _, session = signed_in

    response = client.http.post("/auth/refresh", headers=JSON,
                                body=json.dumps({"refresh_token": session["access_token"]}))

    assert response.status_code == 401


def test_a_token_with_text_no_encoder_takes_is_refused_not_a_crash(client):
    response = client.http.post("/auth/refresh", headers=JSON,
                                body='{"refresh_token": "\\ud800.\\udfff"}')

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "invalid_json"

    response = client.http.post("/auth/refresh", headers=JSON,
                                body=json.dumps({"refresh_token": "é.é"}))
    assert response.status_code == 401
