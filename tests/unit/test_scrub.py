import json

from chalicelib.core import logs


def test_secret_query_parameters_are_hidden_and_the_rest_kept():
    url = ("/sns/jscode2session?appid=wx01&secret=s3cr3t&js_code=081abc&"
           "grant_type=authorization_code&access_token=ACCESS")

    assert logs.scrub(url) == ("/sns/jscode2session?appid=wx01&secret=[hidden]&js_code=[hidden]&"
                               "grant_type=authorization_code&access_token=[hidden]")


def test_the_string_wechat_pay_signs_loses_its_key():
    signed = "b'appid=wx01&body=tea&mch_id=19&nonce_str=abc&key=0123456789abcdef0123456789abcdef'"

    assert logs.scrub(signed) == "b'appid=wx01&body=tea&mch_id=19&nonce_str=abc&key=[hidden]'"


def test_secret_json_fields_and_bearer_tokens_are_hidden():
    text = json.dumps({"session_key": "k+/=", "refresh_token": "a.b", "errcode": 40029,
                       "header": "Authorization: Bearer eyJ.sig"})

    assert json.loads(logs.scrub(text)) == {"session_key": "[hidden]",
                                            "refresh_token": "[hidden]", "errcode": 40029,
                                            "header": "Authorization: Bearer [hidden]"}


def test_names_that_merely_end_like_a_secret_are_kept():
    assert logs.scrub("errcode=40029 idempotency_key=k1 grant_type=authorization_code") == \
        "errcode=40029 idempotency_key=k1 grant_type=authorization_code"


def test_json_stays_json_when_a_secret_sits_before_an_escaped_quote():
    line = json.dumps({"error": 'url: "/cgi-bin/token?secret=abc"'})

    assert json.loads(logs.scrub(line)) == {"error": 'url: "/cgi-bin/token?secret=[hidden]"'}


def test_a_kept_secret_is_hidden_in_any_text():
    logs.keep_secret("unit-test-app-secret-value")

    assert logs.scrub("invalid appsecret unit-test-app-secret-value, hints: [x]") == \
        "invalid appsecret [hidden], hints: [x]"
