import io
import uuid

import pytest
import requests
import zxingcpp
from PIL import Image
from wechatpy.exceptions import WeChatClientException

from sandbox import server


def test_code_to_session_identifies_the_same_user_by_every_code(wechat_client):
    first = wechat_client.wxa.code_to_session("sandbox:alice:1")
    second = wechat_client.wxa.code_to_session("sandbox:alice:2")
    bob = wechat_client.wxa.code_to_session("sandbox:bob:1")

    assert first["openid"] == second["openid"] and first["unionid"] == second["unionid"]
    assert first["openid"].startswith("o") and len(first["openid"]) == 28
    assert first["session_key"] != second["session_key"]
    assert bob["openid"] != first["openid"] and bob["unionid"] != first["unionid"]


def test_unionid_is_shared_across_apps_and_openid_is_not(wechat_client, make_wechat_client):
    with server.start(app_id="wxother0000sandbox") as other_app:
        other_client = make_wechat_client(appid="wxother0000sandbox", base_url=other_app.url)
        elsewhere = other_client.wxa.code_to_session("sandbox:alice:1")
    here = wechat_client.wxa.code_to_session("sandbox:alice:2")

    assert here["unionid"] == elsewhere["unionid"]
    assert here["openid"] != elsewhere["openid"]


@pytest.mark.parametrize("code, errcode", [("sandbox:alice:1", 40163), ("bogus", 40029),
                                           ("sandbox:alice", 40029), ("sandbox::1", 40029)])
def test_code_to_session_refuses_used_and_malformed_codes(wechat_client, code, errcode):
    wechat_client.wxa.code_to_session("sandbox:alice:1")
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.code_to_session(code)
    assert refused.value.errcode == errcode


def test_a_login_code_dies_five_minutes_after_wx_login_handed_it_out(wechat_client, control):
    fresh, stale = (control.post("login_codes", {"user": "alice"}).json() for _ in range(2))
    assert fresh["expires_in"] == 300

    control.post("clock/advance", {"seconds": 299})
    assert wechat_client.wxa.code_to_session(fresh["code"])["openid"] == \
        wechat_client.wxa.code_to_session("sandbox:alice:made-up")["openid"]
    control.post("clock/advance", {"seconds": 2})
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.code_to_session(stale["code"])
    assert refused.value.errcode == 40029


def test_code_to_session_checks_the_app_credentials(sandbox, credentials):
    answer = requests.get(f"{sandbox.url}/sns/jscode2session", timeout=5, params={
        "appid": credentials.app_id, "secret": "wrong", "js_code": "sandbox:alice:1",
        "grant_type": "authorization_code"}).json()
    assert answer["errcode"] == 40125
    answer = requests.get(f"{sandbox.url}/sns/jscode2session", timeout=5, params={
        "appid": "wxwrong", "secret": credentials.app_secret, "js_code": "sandbox:alice:1",
        "grant_type": "authorization_code"}).json()
    assert answer["errcode"] == 40013


def test_access_token_with_a_wrong_secret_is_refused(make_wechat_client):
    with pytest.raises(WeChatClientException) as refused:
        make_wechat_client(secret="wrong").fetch_access_token()
    assert refused.value.errcode == 40125


def test_an_unknown_access_token_is_refused_and_wechatpy_fetches_a_new_one(
        make_wechat_client, control, sandbox):
    bare = requests.post(f"{sandbox.url}/wxa/business/getuserphonenumber", timeout=5,
                         json={"code": "sandbox-phone:13800138000:1"}).json()
    assert bare == {"errcode": 40001,
                    "errmsg": "invalid credential, access_token is invalid or not latest"}

    client = make_wechat_client(access_token="not-a-token")
    answer = client.post("wxa/business/getuserphonenumber",
                         data={"code": "sandbox-phone:13800138000:1"},
                         api_base_url=client.wxa.API_BASE_URL)
    assert answer["phone_info"]["purePhoneNumber"] == "13800138000"
    assert control.get("stats").json()["access_tokens_issued"] == 1


def fetched_token(client):
    return client.fetch_access_token()["access_token"]


def phone_errcode(sandbox, token):
    """0 when the phone number API takes `token`, else WeChat's errcode."""
    return requests.post(f"{sandbox.url}/wxa/business/getuserphonenumber", timeout=5,
                         params={"access_token": token},
                         json={"code": f"sandbox-phone:13800138000:{uuid.uuid4().hex}"}
                         ).json()["errcode"]


def test_a_new_access_token_leaves_the_one_before_it_five_minutes(
        sandbox, wechat_client, control):
    first = fetched_token(wechat_client)
    control.post("clock/advance", {"seconds": 3600})
    second = fetched_token(wechat_client)

    control.post("clock/advance", {"seconds": 299})
    assert (phone_errcode(sandbox, first), phone_errcode(sandbox, second)) == (0, 0)
    control.post("clock/advance", {"seconds": 2})
    assert (phone_errcode(sandbox, first), phone_errcode(sandbox, second)) == (40001, 0)
    control.post("clock/advance", {"seconds": 7200 - 301})
    assert phone_errcode(sandbox, second) == 42001
    assert phone_errcode(sandbox, fetched_token(wechat_client)) == 0


def test_access_token_fetches_have_a_daily_quota_of_2000(wechat_client, control):
    assert control.post("access_tokens/quota", {"used": 1999}).status_code == 200
    last = fetched_token(wechat_client)
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.fetch_access_token()
    assert refused.value.errcode == 45009
    assert wechat_client.access_token == last  # the refused fetch took nothing away

    control.post("clock/advance", {"seconds": 86400})  # the next Beijing day has its own
    assert fetched_token(wechat_client) != last


def get_phone_number(client, code):
    return client.post("wxa/business/getuserphonenumber", data={"code": code},
                       api_base_url=client.wxa.API_BASE_URL)


def test_a_phone_code_dies_five_minutes_after_the_button_handed_it_out(wechat_client, control):
    fresh, stale = (control.post("phone_codes", {"phone": "13800138000"}).json()["code"]
                    for _ in range(2))

    control.post("clock/advance", {"seconds": 299})
    assert get_phone_number(wechat_client, fresh)["phone_info"]["phoneNumber"] == "13800138000"
    control.post("clock/advance", {"seconds": 2})
    with pytest.raises(WeChatClientException) as refused:
        get_phone_number(wechat_client, stale)
    assert refused.value.errcode == 40029


def test_phone_number_code_works_once(wechat_client, credentials):
    answer = get_phone_number(wechat_client, "sandbox-phone:13800138000:n1")

    assert answer["errcode"] == 0
    assert answer["phone_info"]["phoneNumber"] == "13800138000"
    assert answer["phone_info"]["countryCode"] == "86"
    assert answer["phone_info"]["watermark"]["appid"] == credentials.app_id
    for code in ["sandbox-phone:13800138000:n1", "sandbox-phone:not-digits:n2", "sandbox:a:1"]:
        with pytest.raises(WeChatClientException) as refused:
            get_phone_number(wechat_client, code)
        assert refused.value.errcode == 40029


def test_subscribe_messages_are_recorded_until_the_user_refuses(wechat_client, control):
    data = {"thing1": {"value": "订单已发货"}}
    sent = wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data, page="pages/x")
    assert sent["errcode"] == 0 and isinstance(sent["msgid"], int)

    assert control.post("messages/refuse", {"touser": "o-alice"}).status_code == 200
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
    assert refused.value.errcode == 43101
    wechat_client.wxa.send_subscribe_message("o-bob", "tmpl-1", data)

    messages = control.get("messages", touser="o-alice").json()
    assert [(m["template_id"], m["page"], m["data"], m["errcode"]) for m in messages] == [
        ("tmpl-1", "pages/x", data, 0), ("tmpl-1", None, data, 43101)]
    stats = control.get("stats").json()
    assert stats["messages_sent"] == 2 and stats["messages_refused"] == 1


def decoded_qr_texts(png):
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_wxacode_is_a_png_qr_code_of_the_scene(wechat_client, control):
    scene = "s=a1b2c3&t=9!#$'()*+,/:;?@-._~"
    response = wechat_client.wxa.get_wxa_code_unlimited(scene, page="pages/shop/index")

    assert response.headers["Content-Type"] == "image/png"
    assert decoded_qr_texts(response.content) == [scene]
    codes = control.get("wxacodes").json()
    assert [(code["scene"], code["page"]) for code in codes] == [(scene, "pages/shop/index")]
    assert control.get("stats").json()["wxacodes_generated"] == 1


@pytest.mark.parametrize("scene", ["x" * 33, "", "中文", "has space"])
def test_wxacode_refuses_scenes_wechat_refuses(wechat_client, scene):
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.get_wxa_code_unlimited(scene)
    assert refused.value.errcode == 40169


def test_unknown_routes_are_404(sandbox):
    response = requests.get(f"{sandbox.url}/cgi-bin/nothing", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"errcode": -1, "errmsg": "not found"}


def test_reset_forgets_everything(wechat_client, control):
    wechat_client.wxa.code_to_session("sandbox:alice:1")
    wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", {})

    assert control.post("reset").status_code == 200

    assert control.get("messages").json() == []
    assert control.get("stats").json()["access_tokens_issued"] == 0
    assert wechat_client.wxa.code_to_session("sandbox:alice:1")["openid"]
