"""Odd input is a 4xx in the error shape and changes nothing, never a 500: numbers that are
not integers where integers are asked for, over-long ids, deep nesting, forged cursors,
WeChat XML that repeats or nests its elements, unknown routes."""
import json
import re

import pytest

from tests.api.test_checkout import _id, _sku
from tests.api.test_payments import _order, _post, _wechat_order
from tests.api.test_refunds import _paid
from tests.conftest import JSON, STORE_A, WeChatUser, body_of, new_staff, sign_in


def _refused(response, code="validation_error", status=400):
    assert response.status_code == status, response.body
    assert body_of(response)["error"]["code"] == code
    return body_of(response)["error"]["message"]


def _raw_post(client, path, headers, text):
    return client.http.post(path, headers={**headers, **JSON}, body=text)


def test_a_staff_refund_of_a_float_quantity_is_refused_before_wechat_hears_of_it(
        client, shopper, served_app, sandbox_url):
    headers, _ = shopper
    sku = _sku(price_fen=6_800, stock=5)
    order = _paid(client, sandbox_url, headers, sku, 2)
    manager, _ = new_staff(client, "store_manager", STORE_A)
    path = f"/stores/{STORE_A}/orders/{order['order_id']}/refunds"

    for quantity in ("1.0", "1e0", "1E0", "-0.0"):
        answer = _raw_post(client, path, manager, '{"reason": "破损", "lines": [{"sku_id": '
                                                  f'"{sku}", "quantity": {quantity}}}]}}')
        assert "integer" in _refused(answer)

    assert _order(order["order_id"]).refund_count == 0  # no refund slot burnt
    assert _wechat_order(sandbox_url, order["order_id"])["refunds"] == []
    one = _post(client, path, manager, {"reason": "破损", "lines": [{"sku_id": sku,
                                                                   "quantity": 1}]})
    assert one.status_code == 201 and body_of(one)["refund_fen"] == 6_800


def test_a_preview_of_float_quantities_or_points_is_a_validation_error(client, signed_in):
    headers, _ = signed_in
    sku = _sku(price_fen=6_800, stock=5)
    line = f'{{"sku_id": "{sku}", "quantity": %s}}'

    for body in (f'{{"store_id": "{STORE_A}", "items": [{line % "1.0"}]}}',
                 f'{{"store_id": "{STORE_A}", "items": [{line % "1e2"}]}}',
                 f'{{"store_id": "{STORE_A}", "items": [{line % 1}], "points": 40.0}}'):
        _refused(_raw_post(client, "/checkout/preview", headers, body))
    for not_json in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"store_id": "{STORE_A}", "items": [{line % 1}], "points": {not_json}}}'
        _refused(_raw_post(client, "/checkout/preview", headers, body), "invalid_json")

    fine = _raw_post(client, "/checkout/preview", headers,
                     f'{{"store_id": "{STORE_A}", "items": [{line % 1}], "points": 0}}')
    assert fine.status_code == 200, fine.body
    assert json.loads(fine.body)["total_fen"] == 6_800


def test_deeply_nested_json_is_invalid_json_on_every_route(client, signed_in, admin):
    for path, headers in (("/auth/login", {}), ("/checkout/preview", signed_in[0]),
                          ("/admin/flash-sales", admin)):
        for body in ("[" * 100_000, '{"code": ' + "[" * 5_000 + "]" * 5_000 + "}"):
            _refused(_raw_post(client, path, headers, body), "invalid_json")
    # Within what the parser takes, but deeper than any request: the validator's uniqueItems
    # check would recurse through it.
    stores = "[" * 900 + "]" * 900
    _refused(_raw_post(client, "/admin/flash-sales", admin, f'{{"stores": {stores}}}'),
             "invalid_json")


def _path_cases():
    import app  # noqa: F401  (declares every route)
    from chalicelib.api.routing import ROUTES

    return [(spec, name) for spec in ROUTES for name in spec.path_params]


@pytest.mark.parametrize("spec, name", _path_cases(),
                         ids=[f"{s.method} {s.path} {n}" for s, n in _path_cases()])
def test_an_over_long_path_id_is_a_validation_error_on_every_route(client, admin, spec, name):
    values = {"store_id": STORE_A, "sku_id": "p-oolong-250g", "tag": "vip"}
    limit = spec.path_schema["properties"][name]["maxLength"]
    for too_long in ("x" * (limit + 1), "长" * 2_000):
        url = re.sub(r"{(\w+)}", lambda m: too_long if m.group(1) == name
                     else values.get(m.group(1), "nosuch"), spec.path)
        answer = client.http.request(spec.method, url, headers={**admin, "Content-Type":
                                                                spec.content_type},
                                     body="" if spec.content_type == "text/csv" else "{}")
        assert f"path.{name}" in _refused(answer)


def test_path_parameters_publish_their_length_in_the_openapi_document(client):
    document = body_of(client.http.get("/openapi.json"))

    parameters = {(path, p["name"]): p["schema"] for path, item in document["paths"].items()
                  for operation in item.values() for p in operation["parameters"]
                  if p["in"] == "path"}
    assert parameters[("/orders/{order_id}", "order_id")] == \
        {"type": "string", "minLength": 1, "maxLength": 64}
    assert parameters[("/links/{scene}", "scene")]["maxLength"] == 32
    assert parameters[("/admin/members/{member_id}/tags/{tag}", "tag")]["maxLength"] == 20
    assert all(schema.get("maxLength") for schema in parameters.values())


def _cursor_of(raw_key):
    import base64

    return base64.urlsafe_b64encode(json.dumps(raw_key).encode()).decode().rstrip("=")


def test_a_cursor_is_good_only_for_the_list_it_came_from(client, local_services):
    from tests.api.test_payments import _place

    mine, my_session = sign_in(client, WeChatUser(_id("pager-a")))
    theirs, _ = sign_in(client, WeChatUser(_id("pager-b")))
    sku = _sku(price_fen=100, stock=10)
    placed = [_place(client, headers, sku)["order_id"]
              for headers in (mine, mine, theirs, theirs)]

    first = body_of(client.http.get("/members/me/orders?limit=1", headers=mine))
    cursor = first["next_cursor"]
    rest = body_of(client.http.get(f"/members/me/orders?cursor={cursor}", headers=mine))
    assert [o["order_id"] for o in first["orders"] + rest["orders"]] == placed[1::-1]

    # Another member's list, an edited key, a key made up, plain values, not even base64:
    key_text = cursor.partition(".")[0]
    member_id = my_session["member"]["member_id"]
    made_up = {"order_id": {"S": placed[0]}, "member_id": {"S": member_id},
               "created_at": {"S": "2026-01-01T00:00:00"}}
    for forged in (cursor, _cursor_of(made_up), key_text, f"{_cursor_of({'a': 1})}.x",
                   _cursor_of({"order_id": 1, "member_id": [2]}), "%%%", "长" * 10):
        answer = client.http.get(f"/members/me/orders?cursor={forged}", headers=theirs)
        assert "cursor" in _refused(answer)


def _signed_notify_fields(order):
    from wechatpy.pay.utils import calculate_signature

    from tests.api.test_payments import MCH_KEY
    from tests.conftest import TEST_ENVIRONMENT

    fields = {"appid": TEST_ENVIRONMENT["WECHAT_APP_ID"],
              "mch_id": TEST_ENVIRONMENT["WECHAT_MCH_ID"], "nonce_str": _id("nonce"),
              "return_code": "SUCCESS", "result_code": "SUCCESS", "openid": "o-any",
              "total_fee": str(order["total_fen"]), "out_trade_no": order["order_id"],
              "transaction_id": "4200000000202611250000000009", "time_end": "20261125120000"}
    return fields, calculate_signature(fields, MCH_KEY)


def _xml(elements, root="xml"):
    return f"<{root}>" + "".join(f"<{name}>{value}</{name}>" for name, value in elements) + \
        f"</{root}>"


NOTIFY_FORGERIES = {
    "sign twice": lambda f, s: _xml([*f.items(), ("sign", s), ("sign", "0" * 32)]),
    "sign twice, the genuine last": lambda f, s: _xml([("sign", "0" * 32), *f.items(),
                                                       ("sign", s)]),
    "nested sign": lambda f, s: _xml([*f.items(), ("sign", f"<v>{s}</v>")]),
    "non-ASCII sign": lambda f, s: _xml([*f.items(), ("sign", "签名" * 16)]),
    "sign with an attribute": lambda f, s: _xml(f.items()).replace(
        "</xml>", f'<sign type="MD5">{s}</sign></xml>'),
    "sign_type twice": lambda f, s: _xml([*f.items(), ("sign_type", "MD5"),
                                          ("sign_type", "HMAC-SHA256"), ("sign", s)]),
    "out_trade_no twice": lambda f, s: _xml([*f.items(), ("out_trade_no", "o_other"),
                                             ("sign", s)]),
    "nested total_fee": lambda f, s: _xml([*((k, f"<fen>{v}</fen>" if k == "total_fee" else v)
                                             for k, v in f.items()), ("sign", s)]),
    "text beside elements": lambda f, s: _xml([*f.items(), ("sign", s)]).replace(
        "</xml>", "loose text</xml>"),
    "another root": lambda f, s: _xml([*f.items(), ("sign", s)], root="notify"),
    "nested xml": lambda f, s: _xml([("xml", _xml([*f.items(), ("sign", s)]))]),
}


@pytest.mark.parametrize("forgery", NOTIFY_FORGERIES)
def test_a_pay_notify_that_repeats_or_nests_elements_is_rejected(client, shopper, served_app,
                                                                  capfd, forgery):
    import requests

    from tests.api.test_payments import _place

    headers, _ = shopper
    order = _place(client, headers, _sku(price_fen=5_000, stock=3))
    fields, sign = _signed_notify_fields(order)
    capfd.readouterr()

    answer = requests.post(f"{served_app}/wechat/pay/notify", timeout=10,
                           data=NOTIFY_FORGERIES[forgery](fields, sign).encode(),
                           headers={"Content-Type": "text/xml"})

    assert answer.status_code == 200 and "<return_code><![CDATA[FAIL]]>" in answer.text
    rejected = [json.loads(line) for line in capfd.readouterr().out.splitlines()
                if '"pay_notify_rejected"' in line]
    expected = "signature" if forgery == "non-ASCII sign" else "malformed"
    assert [line["reason"] for line in rejected] == [expected], rejected
    assert _order(order["order_id"]).status == "PENDING_PAYMENT"
    genuine = _xml([*fields.items(), ("sign", sign)])  # the same notify, as WeChat sends it
    assert "SUCCESS" in requests.post(f"{served_app}/wechat/pay/notify", data=genuine.encode(),
                                      headers={"Content-Type": "text/xml"}, timeout=10).text
    assert _order(order["order_id"]).status == "PAID"


@pytest.mark.parametrize("forgery", ["req_info twice", "nested req_info", "appid twice"])
def test_a_refund_notify_that_repeats_or_nests_elements_is_rejected(
        client, shopper, served_app, sandbox_url, monkeypatch, capfd, forgery):
    import requests

    from tests.api.test_refunds import _held_refund, _refund_notify_xml, _refund_status

    headers, _ = shopper
    order = _paid(client, sandbox_url, headers, _sku(price_fen=5_000, stock=2))
    refund = _held_refund(client, sandbox_url, headers, order, monkeypatch)
    genuine = _refund_notify_xml(order["order_id"], refund["refund_id"], refund["refund_fen"],
                                 order["total_fen"])
    req_info = re.search(r"<req_info>(.*)</req_info>", genuine).group(0)
    appid = re.search(r"<appid>.*</appid>", genuine).group(0)
    xml = {"req_info twice": genuine.replace(req_info, req_info * 2),
           "nested req_info": genuine.replace(req_info, f"<req_info>{req_info}</req_info>"),
           "appid twice": genuine.replace(appid, appid * 2)}[forgery]
    capfd.readouterr()

    answer = requests.post(f"{served_app}/wechat/pay/refund-notify", data=xml.encode(),
                           headers={"Content-Type": "text/xml"}, timeout=10)

    assert answer.status_code == 200 and "<return_code><![CDATA[FAIL]]>" in answer.text
    rejected = [json.loads(line) for line in capfd.readouterr().out.splitlines()
                if '"refund_notify_rejected"' in line]
    assert [line["reason"] for line in rejected] == ["malformed"], rejected
    assert _refund_status(order["order_id"], refund["refund_id"]) == "PROCESSING"


def _rejected_notify(served_app, capfd, path, xml, event):
    import requests

    capfd.readouterr()
    answer = requests.post(f"{served_app}{path}", data=xml.encode(),
                           headers={"Content-Type": "text/xml"}, timeout=10)
    assert answer.status_code == 200 and "<return_code><![CDATA[FAIL]]>" in answer.text
    return [json.loads(line)["reason"] for line in capfd.readouterr().out.splitlines()
            if f'"{event}"' in line]


# WeChat's out_trade_no has at most 32 characters, its out_refund_no at most 64; only the
# merchant key signs or encrypts these, but a key DynamoDB refuses answered 500 (and WeChat
# retries a notify for a day).
NOT_ORDER_IDS = [None, "", "o" * 33, "o" * 3_000]


@pytest.mark.parametrize("out_trade_no", NOT_ORDER_IDS)
def test_a_signed_pay_notify_without_an_order_id_of_wechats_is_rejected(served_app, capfd,
                                                                       out_trade_no):
    from wechatpy.pay.utils import calculate_signature

    from tests.api.test_payments import MCH_KEY
    from tests.conftest import TEST_ENVIRONMENT

    fields = {"appid": TEST_ENVIRONMENT["WECHAT_APP_ID"], "return_code": "SUCCESS",
              "mch_id": TEST_ENVIRONMENT["WECHAT_MCH_ID"], "result_code": "SUCCESS",
              "nonce_str": _id("nonce"), "total_fee": "100", "transaction_id": "4200000001",
              **({} if out_trade_no is None else {"out_trade_no": out_trade_no})}
    xml = _xml([*fields.items(), ("sign", calculate_signature(fields, MCH_KEY))])

    assert _rejected_notify(served_app, capfd, "/wechat/pay/notify", xml,
                            "pay_notify_rejected") == ["malformed"]


@pytest.mark.parametrize("out_trade_no, out_refund_no", [
    *((order_id, "o_1-r01") for order_id in NOT_ORDER_IDS),
    *(("o_1", refund_id) for refund_id in (None, "", "r" * 65, "r" * 3_000))])
def test_a_refund_result_without_ids_of_wechats_is_rejected(served_app, capfd, out_trade_no,
                                                            out_refund_no):
    from tests.api.fuzz_inputs import refund_notify

    result = [("out_trade_no", out_trade_no), ("out_refund_no", out_refund_no),
              ("refund_fee", "100"), ("refund_status", "SUCCESS")]
    inner = _xml([(name, value) for name, value in result if value is not None], root="root")

    assert _rejected_notify(served_app, capfd, "/wechat/pay/refund-notify",
                            refund_notify(inner),
                            "refund_notify_rejected") == ["malformed"]


def _import(client, admin, text):
    return client.http.post("/admin/members/import", headers={**admin, "Content-Type":
                                                              "text/csv"}, body=text)


def _is_member(phone):
    from chalicelib.members.models import PhoneClaim

    return PhoneClaim.count(phone) > 0


@pytest.mark.parametrize("points", ["²", "１２", "٣", "\u300012", "12\u00a0", "+5", "−5", "1e3",
                                    "1.0", "0x10", "1_000"])
def test_a_points_value_that_is_not_ascii_digits_rejects_its_row(client, admin, points):
    from tests.api.test_import_and_phone import fresh_phone

    bad, good = fresh_phone(), fresh_phone()
    answer = _import(client, admin, f"phone,points\n{bad},{points}\n{good}, 12 \n")

    assert answer.status_code == 200, answer.body
    report = body_of(answer)
    assert (report["imported"], report["rejected_count"]) == (1, 1)
    assert [(r["row"], r["phone"]) for r in report["rejected"]] == [(2, bad)]
    assert "points" in report["rejected"][0]["error"]
    assert not _is_member(bad) and _is_member(good)


def test_a_megabyte_of_bad_rows_answers_a_small_report(client, admin):
    rows = ["phone,name,level,points,store_id"]
    while sum(map(len, rows)) < 1_000_000:
        rows += ["1" * 2_000 + ",,,,", "13800000000,,nosuch,,", "13800000000,,,,s" * 500,
                 "13800000000,," + "l" * 3_000 + ",,"]
    answer = _import(client, admin, "\n".join(rows))

    assert answer.status_code == 200, answer.body
    assert len(answer.body) < 40_000
    report = body_of(answer)
    assert report["rows"] == report["rejected_count"] == len(rows) - 1
    assert len(report["rejected"]) == 100 and report["imported"] == 0
    assert [r["row"] for r in report["rejected"]] == list(range(2, 102))


def test_an_upload_of_more_rows_than_allowed_imports_none(client, admin, monkeypatch,
                                                         tmp_path):
    from devtools import import_members
    from tests.api.test_import_and_phone import fresh_phone

    monkeypatch.setenv("MEMBER_IMPORT_MAX_ROWS", "3")
    phones = [fresh_phone() for _ in range(4)]
    text = "phone\n" + "\n".join(phones) + "\n"

    message = _refused(_import(client, admin, text), "payload_too_large", 413)
    assert "3 rows" in message
    assert not any(_is_member(phone) for phone in phones)
    assert body_of(_import(client, admin, "phone\n" + "\n".join(phones[:3])))["imported"] == 3

    export = tmp_path / "export.csv"  # the import command takes a file of any size
    export.write_text(text)
    assert import_members.main([str(export)]) == 0
    assert all(_is_member(phone) for phone in phones)


@pytest.mark.parametrize("path", ["/nosuch", "/order", "/orders/o_1/nosuch", "/admin",
                                  "/stores/store-jingan/stock/x/y/z"])
def test_an_unknown_route_is_not_found_in_the_error_shape(client, served_app, signed_in, path):
    import requests

    for headers in ({}, signed_in[0]):
        answer = client.http.get(path, headers=headers)
        assert _refused(answer, "not_found", 404)
        served = requests.post(f"{served_app}{path}", headers=headers, timeout=10)
        assert served.status_code == 404, served.text
        assert served.headers["Content-Type"] == "application/json"
        assert served.json()["error"]["code"] == "not_found"
    assert _refused(client.http.delete("/stores"), "method_not_allowed", 405)


@pytest.mark.parametrize("length", ["", "abc", "-1", "1.0"])
def test_a_content_length_that_is_no_number_is_a_bad_request(served_app, length):
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(served_app)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("GET", "/stores")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    answer = connection.getresponse()

    assert answer.status == 400
    assert json.loads(answer.read())["error"]["code"] == "bad_request"
