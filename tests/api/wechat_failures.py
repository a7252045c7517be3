"""Makes WeChat fail in each way the app can meet it, with X-Ray on and the root logger at
DEBUG (as in a Lambda whose log level is DEBUG), and writes what it needs searched for.

Run in its own process by test_secrets.py: X-Ray's patches of botocore and requests, and the
DEBUG logging, must not leak into the rest of the suite. Our JSON logs go to stdout, library
logs to stderr; the segments sent to the X-Ray daemon are captured where they leave."""
import json
import logging
import os
import sys
import uuid

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

from aws_xray_sdk.core import xray_recorder  # noqa: E402
from chalice.test import Client  # noqa: E402

import app as yutang  # noqa: E402
from chalicelib.core import tracing  # noqa: E402
from tests.api.xray_capture import capture_segments  # noqa: E402

JSON = {"Content-Type": "application/json"}


def _post(client, path, body, headers=None):
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=json.dumps(body))


def _wechat_at(base):
    os.environ["WECHAT_API_BASE"] = os.environ["WECHAT_PAY_API_BASE"] = base


def _forget_access_token():
    from chalicelib.config import settings
    from chalicelib.wechat.models import WeChatToken

    WeChatToken(f"{settings.wechat_app_id}_access_token").delete()


def _access_token():
    from chalicelib import wechat

    return wechat.mini_program().client.access_token


def _unpaid_order(client, headers):
    from tests.api.test_checkout import _sku

    placed = _post(client, "/orders", {"store_id": "store-xintiandi",
                                       "items": [{"sku_id": _sku(stock=5), "quantity": 1}]},
                   {**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert placed.status_code == 201, placed.body
    return json.loads(placed.body)["order_id"]


def main(sandbox_url, closed_url, needles_path):
    os.environ["YUTANG_TRACING"] = "on"
    segments = capture_segments()
    tracing.enable()
    xray_recorder.configure(sampling=False)
    person = f"leak-{uuid.uuid4().hex[:10]}"
    codes = [f"sandbox:{person}:{n}" for n in range(1, 4)]
    phone_codes = [f"sandbox-phone:139{uuid.uuid4().int % 10**8:08d}:{n}" for n in range(4)]
    statuses = {}
    with Client(yutang.app, stage_name="test") as client:
        session = json.loads(_post(client, "/auth/login", {"code": codes[0]}).body)
        bearer = {"Authorization": f"Bearer {session['access_token']}"}
        order_id = _unpaid_order(client, bearer)
        access_token = _access_token()

        _wechat_at(closed_url)  # WeChat cannot be reached
        statuses["login"] = _post(client, "/auth/login", {"code": codes[1]}).status_code
        statuses["phone"] = _post(client, "/members/me/phone", {"code": phone_codes[0]},
                                  bearer).status_code
        statuses["pay"] = _post(client, f"/orders/{order_id}/pay", {}, bearer).status_code
        _forget_access_token()
        statuses["token_fetch"] = _post(client, "/members/me/phone", {"code": phone_codes[1]},
                                        bearer).status_code

        _wechat_at(f"{sandbox_url}/down")  # WeChat answers an error page
        statuses["login_error_page"] = _post(client, "/auth/login",
                                             {"code": codes[2]}).status_code
        statuses["pay_error_page"] = _post(client, f"/orders/{order_id}/pay", {},
                                           bearer).status_code

        _wechat_at(sandbox_url)  # WeChat refuses the codes
        refused_token = _access_token()
        statuses["login_refused"] = _post(client, "/auth/login", {"code": codes[0]}).status_code
        statuses["phone_refused"] = _post(client, "/members/me/phone",
                                          {"code": "sandbox-phone:1:" + phone_codes[2]},
                                          bearer).status_code
        refreshed = _post(client, "/auth/refresh", {"refresh_token": session["refresh_token"]})
        statuses["refresh"] = refreshed.status_code
    sys.stdout.flush()
    with open(needles_path, "w") as out:
        json.dump({"statuses": statuses, "segments": segments,
                   "needles": {"app secret": os.environ["WECHAT_APP_SECRET"],
                               "pay key": os.environ["WECHAT_MCH_KEY"],
                               **{f"login code {n}": code for n, code in enumerate(codes)},
                               **{f"phone code {n}": code for n, code in enumerate(phone_codes)},
                               "access token": access_token,
                               "access token (later)": refused_token,
                               "session access token": session["access_token"],
                               "session refresh token": session["refresh_token"]}}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
