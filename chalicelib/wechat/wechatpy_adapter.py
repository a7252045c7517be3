"""The port, implemented with wechatpy (its real HTTP, JSON and signature code).

Base URLs are configurable so local runs and tests talk to the WeChat sandbox.
"""
import requests
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException

from chalicelib.core import logs
from chalicelib.errors import DomainError
from chalicelib.wechat.port import MAX_SCENE_LENGTH, WeChatSession
from chalicelib.wechat.token_store import DynamoDBTokenStore

# 40029: invalid code; 40163: code already used; 40226: risky user blocked by WeChat.
_CODE_REJECTED = {40029, 40163, 40226}


class _Client(WeChatClient):
    def __init__(self, app_id, secret, api_base):
        super().__init__(app_id, secret, session=DynamoDBTokenStore(), timeout=5)
        self._api_base = api_base
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{api_base}/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=f"{self._api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret},
        )


def _wechat_failure(action, exc):
    if isinstance(exc, WeChatClientException) and exc.errcode in _CODE_REJECTED:
        return DomainError("wechat_code_invalid",
                           "The WeChat code is invalid or was already used; get a new one.")
    logs.warning("wechat_call_failed", action=action, error=str(exc),
                 errcode=getattr(exc, "errcode", None))
    return DomainError("wechat_unavailable", "WeChat did not answer as expected; try again.")


class WeChatPyMiniProgram:
    def __init__(self, app_id, secret_getter, api_base):
        self._app_id = app_id
        self._secret_getter = secret_getter
        self._api_base = api_base
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = _Client(self._app_id, self._secret_getter(), self._api_base)
        return self._client

    def code_to_session(self, code):
        try:
            answer = self.client.wxa.code_to_session(code)
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("code2session", exc) from None
        return WeChatSession(openid=answer["openid"], session_key=answer["session_key"],
                             unionid=answer.get("unionid"))

    def phone_number(self, code):
        try:
            answer = self.client.post("wxa/business/getuserphonenumber", data={"code": code},
                                      api_base_url=f"{self._api_base}/")
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("getuserphonenumber", exc) from None
        return answer["phone_info"]["purePhoneNumber"]

    def mini_program_code(self, scene, page):
        if not 0 < len(scene) <= MAX_SCENE_LENGTH:
            raise ValueError(f"a scene has 1 to {MAX_SCENE_LENGTH} characters, not {len(scene)}")
        try:
            answer = self.client.wxa.get_wxa_code_unlimited(scene, page=page)
        except (WeChatClientException, requests.RequestException) as exc:
            raise _wechat_failure("getwxacodeunlimit", exc) from None
        return answer.content
