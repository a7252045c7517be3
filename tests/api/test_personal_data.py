"""Personal data: a client gets what it uses, staff see what their role needs (store staff a
masked phone, nobody the WeChat ids), imported ids give nothing away, session_key is not kept."""
import hashlib
import json

import pytest

from tests.api.test_import_and_phone import bind, fresh_phone, import_csv
from tests.conftest import JSON, STORE_A, WeChatUser, body_of, new_staff, sign_in

WECHAT_IDS = {"openid", "unionid"}


def _masked(phone):
    return phone[:3] + "****" + phone[-4:]


@pytest.fixture
def member_with_phone(client):
    """A member of STORE_A who bound their phone: (headers, member_id, phone)."""
    from chalicelib.members.models import Member

    headers, session = sign_in(client, WeChatUser(f"pd-{fresh_phone()}"))
    phone = fresh_phone()
    assert bind(client, headers, phone, 1).status_code == 200
    member_id = session["member"]["member_id"]
    Member(member_id).update(actions=[Member.home_store_id.set(STORE_A)])
    return headers, member_id, phone


def test_the_client_gets_no_wechat_ids_but_its_own_phone(client, member_with_phone):
    headers, _, phone = member_with_phone

    me = body_of(client.http.get("/members/me", headers=headers))
    _, session = sign_in(client, WeChatUser("pd-fresh-login"))

    assert me["phone"] == phone
    assert not WECHAT_IDS & set(me)
    assert not WECHAT_IDS & set(session["member"])


@pytest.mark.parametrize("role", ["guide", "clerk", "store_manager"])
def test_store_staff_see_a_masked_phone_and_no_wechat_ids(client, member_with_phone, role):
    _, member_id, phone = member_with_phone
    staff_headers, _ = new_staff(client, role, STORE_A)

    tagged = client.http.post(f"/stores/{STORE_A}/members/{member_id}/tags",
                              headers={**staff_headers, **JSON}, body=json.dumps({"tag": "vip"}))

    assert tagged.status_code == 200
    seen = body_of(tagged)
    assert seen["phone"] == _masked(phone) and phone not in tagged.body.decode()
    assert not WECHAT_IDS & set(seen)


def test_admins_see_the_full_phone_and_no_wechat_ids(client, admin, member_with_phone):
    _, member_id, phone = member_with_phone

    one = body_of(client.http.get(f"/admin/members/{member_id}", headers=admin))
    [found] = body_of(client.http.get(f"/admin/members?phone={phone}", headers=admin))["members"]

    assert one["phone"] == found["phone"] == phone
    assert not WECHAT_IDS & (set(one) | set(found))


def test_an_imported_member_id_cannot_be_computed_from_the_phone(client, admin):
    phone = fresh_phone()
    import_csv(client, admin, f"phone,name\n{phone},林\n")

    [found] = body_of(client.http.get(f"/admin/members?phone={phone}", headers=admin))["members"]

    digest = hashlib.sha256(phone.encode()).hexdigest()
    assert digest[:12] not in found["member_id"]
    assert import_csv(client, admin, f"phone,name\n{phone},林\n")["already_members"] == 1


def _identities():
    """The identity table through the bare DynamoDB API: what is stored, not what the model
    knows of."""
    from chalicelib.members.models import WeChatIdentity

    return WeChatIdentity._get_connection().connection.client, WeChatIdentity.Meta.table_name


def _raw_identity(openid):
    client, table = _identities()
    return client.get_item(TableName=table, Key={"openid": {"S": openid}},
                           ConsistentRead=True)["Item"]


def _openid(member_id):
    from chalicelib.members.models import Member

    return Member.get(member_id, consistent_read=True).openid


def test_session_key_is_not_kept_and_a_kept_one_goes_at_the_next_login(client, wechat_user):
    _, session = sign_in(client, wechat_user)
    openid = _openid(session["member"]["member_id"])
    assert "session_key" not in _raw_identity(openid)

    dynamodb, table = _identities()  # as an identity written before this version holds it
    dynamodb.update_item(TableName=table, Key={"openid": {"S": openid}},
                         UpdateExpression="SET session_key = :k",
                         ExpressionAttributeValues={":k": {"S": "an-old-session-key"}})
    assert "session_key" in _raw_identity(openid)

    sign_in(client, wechat_user)

    assert "session_key" not in _raw_identity(openid)
