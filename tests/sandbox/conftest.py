"""Fixtures for the WeChat sandbox's own tests: a sandbox per test, and wechatpy pointed at it.

wechatpy has no base-URL option, so pointing it at the sandbox takes:
- WeChatClient: the instance attributes `API_BASE_URL` ("<base>/cgi-bin/") and
  `wxa.API_BASE_URL` ("<base>/"), and an override of `fetch_access_token`, whose token URL is
  hardcoded to https://api.weixin.qq.com/cgi-bin/token.
- WeChatPay: the instance attribute `API_BASE_URL` ("<base>/"), with `sandbox=False` (True
  would add WeChat's own /sandboxnew/ prefix and fetch a sandbox key).
"""
import json
import time

import pytest
import requests
from wechatpy.client import WeChatClient
from wechatpy.pay import WeChatPay

from sandbox import server
from tests.conftest import WeChatFaults
from tests.sandbox.receiver import NotifyReceiver


@pytest.fixture
def sandbox():
    running = server.start(port=0, time_scale=0.001)
    yield running
    running.stop()


class SandboxWeChatClient(WeChatClient):
    def __init__(self, base_url, appid, secret, **kwargs):
        super().__init__(appid, secret, timeout=5, **kwargs)
        self.base_url = base_url
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{base_url}/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=f"{self.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret},
        )


@pytest.fixture
def credentials(sandbox):
    return sandbox.state.credentials


@pytest.fixture
def make_wechat_client(sandbox, credentials):
    def make(secret=None, appid=None, base_url=None, **kwargs):
        return SandboxWeChatClient(base_url or sandbox.url, appid or credentials.app_id,
                                   secret or credentials.app_secret, **kwargs)
    return make


@pytest.fixture
def wechat_client(make_wechat_client):
    return make_wechat_client()


@pytest.fixture
def make_wechat_pay(sandbox, credentials):
    def make(api_key=None):
        pay = WeChatPay(credentials.app_id, api_key or credentials.mch_key, credentials.mch_id,
                        timeout=5)
        pay.API_BASE_URL = f"{sandbox.url}/"
        return pay
    return make


@pytest.fixture
def wechat_pay(make_wechat_pay):
    return make_wechat_pay()


class Control:
    """The sandbox's /__sandbox__/ endpoints."""

    def __init__(self, base_url):
        self.base_url = f"{base_url}/__sandbox__"

    def get(self, path, **params):
        return requests.get(f"{self.base_url}/{path}", params=params, timeout=5)

    def post(self, path, body=None):
        return requests.post(f"{self.base_url}/{path}", timeout=5,
                             data=None if body is None else json.dumps(body))

    def notifies(self, out_trade_no, **filters):
        """The order's notify attempts; filters: kind ("payment", "refund"), out_refund_no."""
        return self.get("pay/notifies", out_trade_no=out_trade_no, **filters).json()

    def wait_for_notifies(self, out_trade_no, until, timeout_s=5, **filters):
        """The notify attempts for the order once `until(attempts)` holds."""
        deadline = time.monotonic() + timeout_s
        while True:
            attempts = self.notifies(out_trade_no, **filters)
            if until(attempts) or time.monotonic() > deadline:
                return attempts
            time.sleep(0.01)


@pytest.fixture
def control(sandbox):
    return Control(sandbox.url)


@pytest.fixture
def wechat_faults(sandbox):
    """This test's sandbox made to fail as the test scripts."""
    return WeChatFaults(sandbox.url)


@pytest.fixture
def make_receiver():
    receivers = []

    def make(answers=()):
        receivers.append(NotifyReceiver(answers))
        return receivers[-1]
    yield make
    for receiver in receivers:
        receiver.stop()
