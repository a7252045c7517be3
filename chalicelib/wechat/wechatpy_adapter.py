"""The port, implemented with wechatpy (its real HTTP, JSON and signature code).

Base URLs are configurable so local runs and tests talk to the WeChat sandbox.
"""

import requests
import requests.adapters
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from chalicelib.core import logs
from chalicelib.errors import DomainError
from chalicelib.wechat.port import (MAX_SCENE_LENGTH, InvalidNotify, PayFailed, SendUnanswered,
                                    WeChatSession)
from chalicelib.wechat.token_store import SharedAccessToken
from chalicelib.core.clock import SHANGHAI

# 40029: invalid code; 40163: code already used; 40226: risky user blocked by WeChat.
_CODE_REJECTED = {40029, 40163, 40226}
# 40001: invalid or replaced access token; 40014: not an access token; 42001: expired.
_TOKEN_REFUSED = {40001, 40014, 42001}
# -1: system busy; None: an HTTP error from WeChat's gateway (no JSON answer).
_NOT_TAKEN = {-1, None}


class _Client(WeChatClient):
    """wechatpy's client on the shared access token (token_store). A token WeChat refuses is
    replaced once per call: wechatpy's own retry (auto_retry) refetches without bound."""

    def __init__(self, app_id, secret, api_base):
        super().__init__(app_id, secret, timeout=5, auto_retry=False)
        self._api_base = api_base
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{api_base}/"
        self.shared_token = SharedAccessToken(self.access_token_key, self._fetched_token)

    @property
    def access_token(self):
        return self.shared_token.current()

    def _fetched_token(self):
        # Not wechatpy's _fetch_access_token: it waits for an answer without a timeout.
        answer = self._http.get(f"{self._api_base}/cgi-bin/token", timeout=self.timeout, params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
        answer.raise_for_status()
        fetched = self._handle_result(answer)
        return fetched["access_token"], fetched.get("expires_in", 7200)

    def _request(self, method, url_or_endpoint, **kwargs):
        params = kwargs.pop("params", None) or {}
        if "secret" in params:
            # jscode2session: signed by the app secret, and takes no access token. wechatpy
            # adds one to params given as a dict, which would read (or fetch) the shared token
            # for nothing: given as pairs, they go as they are.
            return super()._request(method, url_or_endpoint, params=list(params.items()),
                                    **kwargs)
        token = self.access_token
        try:
            return super()._request(method, url_or_endpoint,
                                    params={**params, "access_token": token}, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in _TOKEN_REFUSED:
                raise
        return super()._request(method, url_or_endpoint, **kwargs, params={
            **params, "access_token": self.shared_token.replace(token)})


def _wechat_failure(action, exc):
    """The DomainError for a failed call, logged (core/logs scrubs the URL in its message)."""
    if isinstance(exc, WeChatClientException) and exc.errcode in _CODE_REJECTED:
        return DomainError("wechat_code_invalid",
                           "The WeChat code is invalid or was already used; get a new one.")
    logs.warning("wechat_call_failed", action=action, error=str(exc),
                 errcode=getattr(exc, "errcode", None))
    return DomainError("wechat_unavailable", "WeChat did not answer as expected; try again.")


# The mini-program version a subscribe message opens, as WeChat names it there.
_MINIPROGRAM_STATES = {"release": "formal", "trial": "trial", "develop": "developer"}
_SUBSCRIBE_SEND = "/message/subscribe/send"  # not the access token fetched before it


class WeChatPyMiniProgram:
    def __init__(self, app_id, secret_getter, api_base, version="release"):
        self._app_id = app_id
        self._secret_getter = secret_getter
        self._api_base = api_base
        self._version = version
        self._client = None

    @property
    def client(self):
        if self._client is None:
            secret = self._secret_getter()
            logs.keep_secret(secret)
            self._client = _Client(self._app_id, secret, self._api_base)
        return self._client

    def code_to_session(self, code):
        try:
            answer = self.client.wxa.code_to_session(code)
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("code2session", exc) from None
        return WeChatSession(openid=answer["openid"], unionid=answer.get("unionid"))

    def phone_number(self, code):
        try:
            answer = self.client.post("wxa/business/getuserphonenumber", data={"code": code},
                                      api_base_url=f"{self._api_base}/")
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("getuserphonenumber", exc) from None
        return answer["phone_info"]["purePhoneNumber"]

    def mini_program_code(self, scene, page):
        """A released page is checked by WeChat (41030 if the release lacks it); a trial or
        develop build's pages cannot be."""
        if not 0 < len(scene) <= MAX_SCENE_LENGTH:
            raise ValueError(f"a scene has 1 to {MAX_SCENE_LENGTH} characters, not {len(scene)}")
        try:
            answer = self.client.post("wxa/getwxacodeunlimit", api_base_url=f"{self._api_base}/",
                                      data={"scene": scene, "page": page,
                                            "check_path": self._version == "release",
                                            "env_version": self._version})
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("getwxacodeunlimit", exc) from None
        return answer.content

    def send_subscribe_message(self, openid, template_id, page, data):
        """0 when WeChat took the message, else WeChat's errcode (43101: the member has no
        subscription left for this template; 47003: a value breaks its keyword's rule;
        41030: the released mini-program has no such page)."""
        message = {"touser": openid, "template_id": template_id, "data": data,
                   "miniprogram_state": _MINIPROGRAM_STATES[self._version]}
        if page:
            message["page"] = page
        try:
            self.client.post("message/subscribe/send", data=message)
        except WeChatClientException as exc:
            if exc.errcode in _NOT_TAKEN:
                raise _wechat_failure("subscribeMessage.send", exc) from None
            logs.warning("subscribe_message_refused", template_id=template_id,
                         errcode=exc.errcode, error=exc.errmsg)
            return exc.errcode
        except requests.ReadTimeout as exc:
            if _SUBSCRIBE_SEND in getattr(exc.request, "url", ""):
                logs.warning("subscribe_message_unanswered", template_id=template_id)
                raise SendUnanswered(str(exc)) from None
            raise _wechat_failure("subscribeMessage.send", exc) from None
        except requests.RequestException as exc:
            raise _wechat_failure("subscribeMessage.send", exc) from None
        return 0


def _pay_call(action, call):
    from wechatpy.exceptions import WeChatPayException

    try:
        return call()
    except WeChatPayException as exc:
        # No err_code: a non-200 answer (e.g. 400 without the merchant certificate) or a
        # request refused whole (return_code FAIL, e.g. a bad signature).
        status = getattr(exc.response, "status_code", None)
        message = exc.errmsg or exc.return_msg or f"HTTP {status}"
        logs.warning("wechat_pay_failed", action=action, errcode=exc.errcode, error=message,
                     http_status=status)
        raise PayFailed(exc.errcode, message) from None
    except requests.RequestException as exc:
        logs.warning("wechat_pay_unreachable", action=action, error=str(exc))
        raise PayFailed("UNREACHABLE", str(exc)) from None


class _TrustingOnly(requests.adapters.HTTPAdapter):
    """Verifies the server against this CA file only. (A session's own `verify` does not hold:
    requests lets REQUESTS_CA_BUNDLE, if set, override it.)"""

    def __init__(self, ca_bundle):
        super().__init__()
        self._ca_bundle = ca_bundle

    def send(self, request, **kwargs):
        return super().send(request, **{**kwargs, "verify": self._ca_bundle})


def _private_files(**texts):
    """Each text in a file only this process's user may read (requests, like OpenSSL, takes a
    client certificate and its key only as files): {name: path}."""
    import os
    import tempfile

    directory = tempfile.mkdtemp(prefix="wechat-pay-")  # mode 0700
    paths = {}
    for name, text in texts.items():
        paths[name] = os.path.join(directory, f"{name}.pem")
        with os.fdopen(os.open(paths[name], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                       "w") as file:
            file.write(text)
    return paths


class WeChatPyPay:
    """WeChat Pay v2 through wechatpy's WeChatPay, with the merchant's API certificate (two-way
    TLS, which refunds require). Orders are created with MD5 signatures; notifies are verified
    with whichever signature type they declare."""

    def __init__(self, app_id, mch_id, key_getter, api_base, certificate_getter,
                 ca_bundle=None):
        self._app_id, self._mch_id = app_id, mch_id
        self._key_getter = key_getter
        self._api_base = api_base
        self._certificate_getter = certificate_getter  # () -> (certificate PEM, its key PEM)
        self._ca_bundle = ca_bundle
        self._pay = None

    @property
    def pay(self):
        if self._pay is None:
            from wechatpy.pay import WeChatPay

            key = self._key_getter()
            logs.keep_secret(key)
            certificate, certificate_key = self._certificate_getter()
            logs.keep_secret(certificate_key)
            files = _private_files(cert=certificate, key=certificate_key)
            pay = WeChatPay(self._app_id, key, self._mch_id, mch_cert=files["cert"],
                            mch_key=files["key"], timeout=4)
            pay.API_BASE_URL = f"{self._api_base}/"
            if self._ca_bundle:
                pay._http.mount(pay.API_BASE_URL, _TrustingOnly(self._ca_bundle))
            self._pay = pay
        return self._pay

    def unified_order(self, out_trade_no, total_fee, openid, body, notify_url, time_start,
                      time_expire):
        answer = _pay_call("unifiedorder", lambda: self.pay.order.create(
            trade_type="JSAPI", body=body, total_fee=total_fee, notify_url=notify_url,
            client_ip="127.0.0.1", user_id=openid, out_trade_no=out_trade_no,
            time_start=time_start.astimezone(SHANGHAI),
            time_expire=time_expire.astimezone(SHANGHAI)))
        return answer["prepay_id"]

    def jsapi_params(self, prepay_id):
        return self.pay.jsapi.get_jsapi_params(prepay_id)

    def verified_notify(self, xml):
        """The notify's fields if signed with our key. A notify may leave out sign_type
        even when it is HMAC-SHA256 (WeChat's do, for orders placed with HMAC-SHA256): then
        either signature type holds."""
        import hmac

        from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac


        fields = _flat_xml(xml, "xml")
        sign = fields.pop("sign", None)
        signatures = {"MD5": calculate_signature, "HMAC-SHA256": calculate_signature_hmac}
        sign_type = fields.get("sign_type")
        if sign_type is not None:
            signatures = {sign_type: signatures.get(sign_type)}
        if not sign or None in signatures.values():
            raise InvalidNotify("signature", f"unsigned, or signed with {sign_type!r:.40}")
        if not sign.isascii() or not any(
                hmac.compare_digest(calculate(fields, self.pay.api_key), sign)
                for calculate in signatures.values()):
            raise InvalidNotify("signature", "signature does not match")
        return _with_ids(fields, "the notify", "out_trade_no")

    def query(self, out_trade_no):
        return _pay_call("orderquery", lambda: self.pay.order.query(out_trade_no=out_trade_no))

    def close(self, out_trade_no):
        _pay_call("closeorder", lambda: self.pay.order.close(out_trade_no))

    def refund(self, out_trade_no, out_refund_no, total_fee, refund_fee, notify_url,
               from_available_funds=False):
        account = "REFUND_SOURCE_RECHARGE_FUNDS" if from_available_funds \
            else "REFUND_SOURCE_UNSETTLED_FUNDS"
        return _pay_call("refund", lambda: self.pay.refund.apply(
            total_fee=total_fee, refund_fee=refund_fee, out_refund_no=out_refund_no,
            out_trade_no=out_trade_no, notify_url=notify_url, refund_account=account))

    def refund_status(self, out_refund_no):
        answer = _pay_call("refundquery",
                           lambda: self.pay.refund.query(out_refund_no=out_refund_no))
        return answer["refund_status_0"]

    def decrypted_refund_notify(self, xml):

        envelope = _flat_xml(xml, "xml")
        try:
            result = self.pay.parse_refund_notify_result(envelope)
        except Exception:
            raise InvalidNotify("decryption",
                                "the refund notify does not decrypt with our key") from None
        return _with_ids(_flat(result, "the decrypted req_info"), "the decrypted req_info",
                         "out_trade_no", "out_refund_no")


MAX_NOTIFY_CHARS = 32_768  # WeChat's notifies have 1 to 3 KB


def _flat_xml(xml, root):
    """The fields of WeChat's XML, which is flat: one root element holding elements that hold
    text. A repeated or nested element, an attribute or loose text means the XML is not
    WeChat's (and would hand lists and dicts to code that expects text)."""
    import xmltodict


    if len(xml) > MAX_NOTIFY_CHARS:
        raise InvalidNotify("malformed", f"longer than {MAX_NOTIFY_CHARS} characters")
    try:
        parsed = xmltodict.parse(xml)
    except Exception:
        raise InvalidNotify("malformed", "not XML") from None
    if list(parsed) != [root]:
        raise InvalidNotify("malformed", f"the root element is not <{root}>")
    return _flat(parsed[root], f"<{root}>")


# WeChat's ids of our order and refund are text of at most these lengths; anything else is not
# WeChat's notify (and no key DynamoDB would take).
_ID_LENGTHS = {"out_trade_no": 32, "out_refund_no": 64}


def _with_ids(fields, where, *names):

    for name in names:
        value = fields.get(name)
        if not (isinstance(value, str) and 0 < len(value) <= _ID_LENGTHS[name]):
            raise InvalidNotify("malformed", f"{where} has no {name} of WeChat's")
    return fields


def _flat(fields, where):
    """Fields as xmltodict parsed them, if each holds only text."""

    fields = fields or {}
    if not isinstance(fields, dict):
        raise InvalidNotify("malformed", f"{where} holds text, not elements")
    for name, value in fields.items():
        if name.startswith(("@", "#")):
            raise InvalidNotify("malformed", f"{where} has attributes or loose text")
        if isinstance(value, list):
            raise InvalidNotify("malformed", f"<{name:.40}> repeats")
        if not isinstance(value, (str, int, type(None))):  # wechatpy makes amounts int
            raise InvalidNotify("malformed", f"<{name:.40}> nests elements or has attributes")
    return dict(fields)
