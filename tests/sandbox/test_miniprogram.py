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


def accept(control, touser, *template_ids):
    """The user taps "accept" for these templates in wx.requestSubscribeMessage."""
    answer = control.post("messages/accept", {"touser": touser, "template_ids": template_ids})
    assert answer.status_code == 200, answer.text
    return answer.json()


def template(control, template_id, **keywords):
    """The brand chooses this template in WeChat's console: keyword=kind for each keyword."""
    answer = control.post("messages/templates", {"template_id": template_id,
                                                 "keywords": keywords})
    assert answer.status_code == 200, answer.text


def test_each_acceptance_lets_one_message_through_then_43101(wechat_client, control):
    data = {"thing1": {"value": "订单已发货"}}
    template(control, "tmpl-1", thing1="thing")
    template(control, "tmpl-2", thing1="thing")
    with pytest.raises(WeChatClientException) as never_accepted:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
    assert never_accepted.value.errcode == 43101

    assert accept(control, "o-alice", "tmpl-1", "tmpl-2")["subscriptions"] == \
        {"tmpl-1": 1, "tmpl-2": 1}
    accept(control, "o-alice", "tmpl-1")
    sent = [wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data,
                                                     page="pages/order/detail?id=o_1")
            for _ in range(2)]
    assert all(answer["errcode"] == 0 and isinstance(answer["msgid"], int) for answer in sent)
    with pytest.raises(WeChatClientException) as spent:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
    assert spent.value.errcode == 43101
    with pytest.raises(WeChatClientException) as someone_else:
        wechat_client.wxa.send_subscribe_message("o-bob", "tmpl-2", data)
    assert someone_else.value.errcode == 43101
    wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-2", data)

    messages = control.get("messages", touser="o-alice").json()
    assert [(m["template_id"], m["errcode"]) for m in messages] == [
        ("tmpl-1", 43101), ("tmpl-1", 0), ("tmpl-1", 0), ("tmpl-1", 43101), ("tmpl-2", 0)]
    assert messages[1]["page"] == "pages/order/detail?id=o_1" and messages[1]["data"] == data
    stats = control.get("stats").json()
    assert stats["messages_sent"] == 3 and stats["messages_refused"] == 3


VALUES_WECHAT_TAKES = {
    "thing": ["订单已发货", "a" * 20, "春季新茶限时秒杀特惠专场龙井碧螺春白茶大", "Tea & Co. #1!"],
    "number": ["0", "12", "3.5", "9" * 32],
    "letter": ["abc", "Z" * 32],
    "symbol": ["-", "!?#@%"],
    "character_string": ["o_x9-2026", "SF1234567890", "A" * 32],
    "time": ["15:01", "15:01:30", "2019年10月1日 15:01", "2026-11-28 10:00",
             "2026/11/28 10:00", "10:00~12:00", "2026-11-28 10:00 ~ 2026-11-28 12:00"],
    "date": ["2019年10月1日", "2026-11-28", "2026-11-28 10:00", "2026-11-28~2026-11-30"],
    "amount": ["¥12.30", "¥0.05", "￥1000", "$9.99", "¥12.30元", "¥" + "9" * 10],
    "phone_number": ["13800138000", "+86-0766-66888866"],
    "car_number": ["粤A8Z888挂", "京A12345"],
    "name": ["张三", "欧阳娜娜娜娜娜娜娜娜", "John Smith", "Li.Lei"],
    "phrase": ["配送中", "拼团成功", "已完成退款"],
}
VALUES_WECHAT_REFUSES = {
    "thing": ["a" * 21, "春季新茶限时秒杀特惠专场龙井碧螺春白茶大红"],
    "number": ["-1", "1e3", "12a", "9" * 33, "1,000"],
    "letter": ["abc1", "中文", "a" * 33],
    "symbol": ["a", "!!!!!!"],
    "character_string": ["订单1", "has space", "A" * 33],
    "time": ["2026-11-28T10:00", "25:00", "10点", "2026-11-28", "tomorrow"],
    "date": ["10:00", "28/11/2026", "明天"],
    "amount": ["12.30", "-¥12.30", "¥-12.30", "¥1.", "¥12,300", "¥" + "9" * 11, "¥1.2.3",
               "12.30元"],
    "phone_number": ["1380013800a", "1" * 18],
    "car_number": ["粤A8Z888挂9", "粤-A8Z88"],
    "name": ["张三" * 6, "a" * 21, "张三3"],
    "phrase": ["拼团成功啦朋", "ok", "拼团 成功", "成功!"],
}


def _keyword_cases(values):
    return [(kind, value) for kind, kinds_values in values.items() for value in kinds_values]


@pytest.mark.parametrize("kind,value", _keyword_cases(VALUES_WECHAT_TAKES))
def test_a_value_within_its_keywords_rule_is_sent(wechat_client, control, kind, value):
    template(control, "tmpl-1", **{f"{kind}3": kind})
    accept(control, "o-alice", "tmpl-1")
    wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1",
                                             {f"{kind}3": {"value": value}})


@pytest.mark.parametrize("kind,value", _keyword_cases(VALUES_WECHAT_REFUSES)
                         + [("thing", ""), ("thing", None)])
def test_a_value_outside_its_keywords_rule_is_47003_and_spends_nothing(
        wechat_client, control, kind, value):
    template(control, "tmpl-1", thing1="thing", **{f"{kind}3": kind})
    accept(control, "o-alice", "tmpl-1")
    data = {"thing1": {"value": "好"}, f"{kind}3": {"value": value}}
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
    assert refused.value.errcode == 47003
    empty = value in ("", None)
    assert refused.value.errmsg == \
        f"argument invalid! data.{kind}3.value {'is empty' if empty else 'invalid'}"
    data[f"{kind}3"] = {"value": VALUES_WECHAT_TAKES[kind][0]}  # the quota is still there
    assert wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)["errcode"] == 0


def test_a_template_not_in_the_account_is_40037(wechat_client, control):
    data = {"thing1": {"value": "新品上架"}}
    accept(control, "o-alice", "tmpl-new")
    with pytest.raises(WeChatClientException) as unknown:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-new", data)
    assert (unknown.value.errcode, unknown.value.errmsg) == (40037, "invalid template id")

    template(control, "tmpl-new", thing1="thing")
    assert control.get("messages/templates").json()["tmpl-new"] == {"thing1": "thing"}
    assert wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-new", data)["errcode"] == 0


@pytest.mark.parametrize("data,key", [
    ({"thing1": {"value": "秒杀"}}, "time2.value is empty"),
    ({"thing1": {"value": "秒杀"}, "time2": {"value": "10:00"}, "thing3": {"value": "多"}},
     "thing3 is not a keyword of the template"),
    ({"thing1": {"value": "秒杀"}, "time3": {"value": "10:00"}},
     "time3 is not a keyword of the template"),
])
def test_the_data_has_exactly_the_templates_keywords_else_47003(wechat_client, control, data,
                                                                key):
    template(control, "tmpl-1", thing1="thing", time2="time")
    accept(control, "o-alice", "tmpl-1")
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
    assert (refused.value.errcode, refused.value.errmsg) == \
        (47003, f"argument invalid! data.{key}")


def test_a_value_keeps_to_the_kind_its_template_gives_the_keyword(wechat_client, control):
    template(control, "tmpl-1", keyword1="phrase", thing2="amount")  # not the names' kinds
    accept(control, "o-alice", "tmpl-1")
    for data, errmsg in [
            ({"keyword1": {"value": "拼团成功啦朋"}, "thing2": {"value": "¥1.00"}},
             "argument invalid! data.keyword1.value invalid"),
            ({"keyword1": {"value": "成功"}, "thing2": {"value": "订单"}},
             "argument invalid! data.thing2.value invalid")]:
        with pytest.raises(WeChatClientException) as refused:
            wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)
        assert (refused.value.errcode, refused.value.errmsg) == (47003, errmsg)
    data = {"keyword1": {"value": "成功"}, "thing2": {"value": "¥1.00"}}
    assert wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data)["errcode"] == 0


def test_the_account_starts_with_the_apps_templates(control):
    templates = control.get("messages/templates").json()
    assert templates["flash-sale-reminder"] == {"thing1": "thing", "time2": "time"}
    assert templates["tpl-order-paid"]["amount2"] == "amount"


@pytest.mark.parametrize("body", [
    {"keywords": {"thing1": "thing"}}, {"template_id": "t", "keywords": {}},
    {"template_id": "t", "keywords": {"thing1": "things"}},
    {"template_id": "t", "keywords": ["thing1"]},
])
def test_a_template_is_described_exactly(control, body):
    answer = control.post("messages/templates", body)
    assert answer.status_code == 400


def test_a_page_the_released_mini_program_lacks_is_41030(wechat_client, control):
    data = {"thing1": {"value": "新品上架"}}
    template(control, "tmpl-1", thing1="thing")
    accept(control, "o-alice", "tmpl-1")
    with pytest.raises(WeChatClientException) as refused:
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data,
                                                 page="pages/new/index?id=1")
    assert refused.value.errcode == 41030

    released = control.post("miniprogram/release", {"pages": ["pages/new/index"]})
    assert released.json() == {"pages": ["pages/new/index"]}
    sent = wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data,
                                                    page="pages/new/index?id=1")
    assert sent["errcode"] == 0
    accept(control, "o-alice", "tmpl-1")
    with pytest.raises(WeChatClientException) as unreleased:  # no longer in the release
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1", data,
                                                 page="pages/order/detail")
    assert unreleased.value.errcode == 41030
    answer = wechat_client.post("message/subscribe/send", data={
        "touser": "o-alice", "template_id": "tmpl-1", "data": data,
        "page": "pages/order/detail", "miniprogram_state": "developer"})
    assert answer["errcode"] == 0  # a developer build's pages are not checked


def decoded_qr_texts(image):
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))]


def get_code(client, **body):
    return client.post("wxa/getwxacodeunlimit", data=body, api_base_url=client.wxa.API_BASE_URL)


def test_wxacode_is_a_jpeg_qr_code_of_the_scene_of_realistic_size(wechat_client, control):
    scene = "s=a1b2c3&t=9!#$'()*+,/:;?@-._~"
    response = wechat_client.wxa.get_wxa_code_unlimited(scene, page="pages/store/index")

    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"  # a JPEG's start of image
    assert Image.open(io.BytesIO(response.content)).size == (430, 430)
    assert 10_000 < len(response.content) < 200_000  # WeChat's codes weigh tens of KB
    assert decoded_qr_texts(response.content) == [scene]
    large = get_code(wechat_client, scene="s=1", width=1280)
    assert Image.open(io.BytesIO(large.content)).size == (1280, 1280)
    transparent = get_code(wechat_client, scene="s=1", is_hyaline=True)
    assert transparent.headers["Content-Type"] == "image/png"
    codes = control.get("wxacodes").json()
    assert [(code["scene"], code["page"], code["check_path"], code["env_version"])
            for code in codes][0] == (scene, "pages/store/index", True, "release")
    assert control.get("stats").json()["wxacodes_generated"] == 3


def test_wxacode_checks_the_page_against_the_release_unless_told_not_to(wechat_client,
                                                                        control):
    with pytest.raises(WeChatClientException) as unreleased:
        get_code(wechat_client, scene="s=1", page="pages/new/index")
    assert unreleased.value.errcode == 41030
    with pytest.raises(WeChatClientException) as checked:
        get_code(wechat_client, scene="s=1", page="pages/new/index", check_path=True,
                 env_version="trial")
    assert checked.value.errcode == 41030

    trial = get_code(wechat_client, scene="s=1", page="pages/new/index", check_path=False,
                     env_version="trial")
    assert trial.headers["Content-Type"] == "image/jpeg"
    released = get_code(wechat_client, scene="s=1", page="pages/product/index",
                        check_path=True, env_version="release")
    assert released.headers["Content-Type"] == "image/jpeg"
    codes = control.get("wxacodes").json()
    assert [(code["page"], code["check_path"], code["env_version"]) for code in codes] == [
        ("pages/new/index", False, "trial"), ("pages/product/index", True, "release")]


@pytest.mark.parametrize("body,errcode", [
    ({"page": "/pages/store/index"}, 41030), ({"page": "pages/store/index?id=1"}, 41030),
    ({"page": "/pages/new/index", "check_path": False}, 41030),
    ({"check_path": "false"}, 47001), ({"env_version": "beta"}, 47001),
    ({"env_version": "formal"}, 47001),
])
def test_wxacode_refuses_pages_and_arguments_wechat_refuses(wechat_client, body, errcode):
    with pytest.raises(WeChatClientException) as refused:
        get_code(wechat_client, scene="s=1", **body)
    assert refused.value.errcode == errcode


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
    template(control, "tmpl-1", thing1="thing")
    accept(control, "o-alice", "tmpl-1", "group-buy-result")
    control.post("miniprogram/release", {"pages": []})

    assert control.post("reset").status_code == 200

    with pytest.raises(WeChatClientException) as no_quota:
        wechat_client.wxa.send_subscribe_message("o-alice", "group-buy-result", {
            "thing1": {"value": "好"}, "phrase2": {"value": "成功"}})
    assert no_quota.value.errcode == 43101
    with pytest.raises(WeChatClientException) as unknown:  # the account's templates again
        wechat_client.wxa.send_subscribe_message("o-alice", "tmpl-1",
                                                 {"thing1": {"value": "好"}})
    assert unknown.value.errcode == 40037
    assert "pages/index/index" in control.get("miniprogram/pages").json()["pages"]
    control.post("reset")

    assert control.get("messages").json() == []
    assert control.get("stats").json()["access_tokens_issued"] == 0
    assert wechat_client.wxa.code_to_session("sandbox:alice:1")["openid"]
