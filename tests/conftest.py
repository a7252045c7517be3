"""The suite runs against its own in-memory DynamoDB Local and its own WeChat sandbox, on free
ports, so it never touches `make run`'s data.

Tables are created once per run (creating one costs DynamoDB Local about 250 ms); tests stay
independent by working only with data of their own: a fresh WeChat user per test, fresh ids.
"""
import chalicelib.wiring  # noqa: F401 (registers the channels and the events' subscribers)
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager, nullcontext
from datetime import timedelta

import pytest
import requests

import app as yutang
from devtools import local_api, processes
from devtools import streams as local_streams

local_api.install()  # unknown routes answer 404 in the error shape, as the deployed API does


def _streams_delivered_after(event, get_response):
    """Stream consumers are instant in the suite: what the tables' streams hold when the app
    has answered a request (or run a job) is delivered before the answer goes out, as Lambda
    delivers it a moment later on AWS. Tests that call the app's functions directly drain
    the streams themselves (devtools/streams.py drain)."""
    response = get_response(event)
    if os.environ.get("DYNAMODB_HOST"):
        try:
            local_streams.drain_if_written(yutang.app)
        except Exception:  # the answer stands; what was not delivered waits for the next
            from chalicelib.core import logs

            logs.exception("stream_drain_failed")
    return response


local_streams.watch_writes()
yutang.app.register_middleware(_streams_delivered_after, "http")
yutang.app.register_middleware(_streams_delivered_after, "scheduled")

# The `test` stage of .chalice/config.json, which chalice.test.Client also applies per call.
TEST_ENVIRONMENT = {
    **json.loads((processes.ROOT / ".chalice/config.json").read_text())
    ["stages"]["test"]["environment_variables"],
    "YUTANG_TRACING": "off",
}


@contextmanager
def running_services():
    """DynamoDB Local (in memory) and the WeChat sandbox on free ports: (DynamoDB Local's
    port, the sandbox's HTTP and HTTPS ports, the directory of its test CA)."""
    dynamodb_port, sandbox_port, sandbox_tls_port = (processes.free_port() for _ in range(3))
    ca_dir = tempfile.mkdtemp(prefix="wechat-sandbox-ca-")
    started = []
    try:
        started.append(processes.start_dynamodb_local(dynamodb_port,
                                                      stdout=subprocess.DEVNULL))
        sandbox_env = {**os.environ, **TEST_ENVIRONMENT, "WECHAT_SANDBOX_TIME_SCALE": "0.001"}
        started.append(processes.start_wechat_sandbox(sandbox_port, sandbox_tls_port, ca_dir,
                                                      env=sandbox_env,
                                                      stdout=subprocess.DEVNULL))
        yield dynamodb_port, sandbox_port, sandbox_tls_port, ca_dir
    finally:
        processes.stop(started)
        shutil.rmtree(ca_dir, ignore_errors=True)


# "<DynamoDB Local port>,<sandbox port>,<sandbox HTTPS port>,<sandbox CA directory>": use
# ones already running (devtools/mutate.py starts them once for its many short runs) instead
# of starting a pair for this run.
SHARED_SERVICES = "YUTANG_TEST_SERVICES"


def _shared_services(value):
    dynamodb_port, sandbox_port, sandbox_tls_port, ca_dir = value.split(",")
    return int(dynamodb_port), int(sandbox_port), int(sandbox_tls_port), ca_dir


def _orders_job_has_run_before():
    """As on a running deployment, the orders' minute job has read up to a minute ago: tests
    that run it on a clock moved ahead find every order placed since, whichever runs first."""
    from chalicelib.core.clock import clock
    from chalicelib.db import cursors
    from chalicelib.orders import closing

    now = clock.now()
    cursors.cover(closing.JOB, now.replace(second=0, microsecond=0) - timedelta(minutes=1), now)


@pytest.fixture(scope="session")
def local_services():
    """DynamoDB Local (in memory) and the WeChat sandbox, with the app's env pointing at them."""
    shared = os.environ.get(SHARED_SERVICES)
    services = nullcontext(_shared_services(shared)) if shared else running_services()
    with services as (dynamodb_port, sandbox_port, sandbox_tls_port, ca_dir):
        os.environ.update(TEST_ENVIRONMENT)
        os.environ.update(processes.local_environment(dynamodb_port, sandbox_port,
                                                      sandbox_tls_port, ca_dir))
        os.environ["CODE_IMAGES_DIR"] = tempfile.mkdtemp(prefix="yutang-code-images-")
        from chalicelib.tables import create_missing_tables
        from devtools.seed import seed_demo_brand

        create_missing_tables()
        seed_demo_brand()
        _orders_job_has_run_before()
        local_streams.start_from_now(yutang.app)  # what an earlier run left is not this one's
        yield {"dynamodb": f"http://127.0.0.1:{dynamodb_port}",
               "sandbox": f"http://127.0.0.1:{sandbox_port}"}


@pytest.fixture(scope="session")
def served_app(local_services):
    """The app behind `chalice local`'s HTTP server, in this process, so that WeChat (the
    sandbox) can post its notifies to it. Its URL is the app's PUBLIC_API_URL."""
    import threading

    from chalice.cli.factory import CLIFactory
    from chalice.local import create_local_server

    config = CLIFactory(str(processes.ROOT)).create_config_obj(chalice_stage_name="test")
    port = processes.free_port()
    server = create_local_server(yutang.app, config, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["PUBLIC_API_URL"] = f"http://127.0.0.1:{port}"
    yield os.environ["PUBLIC_API_URL"]
    server.server.shutdown()


@pytest.fixture
def sandbox_url(local_services):
    return local_services["sandbox"]


class WeChatFaults:
    """Scripts the sandbox's faults (POST/GET/DELETE /__sandbox__/faults; see
    sandbox/faults.py): wechat_faults.add("/pay/orderquery", err_code="SYSTEMERROR",
    match={"out_trade_no": order_id}, times=2)."""

    def __init__(self, sandbox_url):
        self.url = f"{sandbox_url}/__sandbox__/faults"

    def add(self, path, **fault):
        response = requests.post(self.url, json={"path": path, **fault}, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def pending(self):
        """The faults not yet used up."""
        return requests.get(self.url, timeout=5).json()

    def clear(self):
        requests.delete(self.url, timeout=5).raise_for_status()


def wechat_minute_passes(sandbox_url):
    """A minute passes on the sandbox's clock: WeChat takes another refund of the same order
    (it refuses one within a minute of the last with FREQUENCY_LIMITED)."""
    requests.post(f"{sandbox_url}/__sandbox__/clock/advance", json={"seconds": 60},
                  timeout=5).raise_for_status()


@pytest.fixture
def wechat_faults(sandbox_url):
    """The session's sandbox made to fail as a test scripts; cleared after the test."""
    faults = WeChatFaults(sandbox_url)
    yield faults
    faults.clear()


def subscribe(member_id, *events):
    """The member accepted these events' templates in wx.requestSubscribeMessage: WeChat (the
    sandbox) lets one message of each through, and the mini-program reports them to us (for a
    member with no openid, only the report). Returns our credits view."""
    from chalicelib.members.models import Member
    from chalicelib.notify import EVENTS, credits

    template_ids = [EVENTS[event].template_id for event in events]
    openid = Member.get(member_id).openid
    if openid:
        requests.post(f"{os.environ['WECHAT_API_BASE']}/__sandbox__/messages/accept",
                      json={"touser": openid, "template_ids": template_ids},
                      timeout=5).raise_for_status()
    return credits.accept(member_id, template_ids)


class WeChatUser:
    """A person with WeChat: every login code they produce maps to the same openid."""

    def __init__(self, name):
        self.name = name
        self._codes = 0

    def login_code(self):
        self._codes += 1
        return f"sandbox:{self.name}:{self._codes}"


@pytest.fixture
def wechat_user():
    return WeChatUser(f"user-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def client(local_services):
    from chalice.test import Client

    with Client(yutang.app, stage_name="test") as test_client:
        yield test_client


def body_of(response):
    return json.loads(response.body)


STORE_A, STORE_B = "store-xintiandi", "store-jingan"  # demo stores, seeded once per run


def sign_in(client, user):
    """(headers with the bearer token, the login answer) for a WeChat user."""
    response = client.http.post("/auth/login", headers={"Content-Type": "application/json"},
                                body=json.dumps({"code": user.login_code()}))
    assert response.status_code == 200, response.body
    session = body_of(response)
    return {"Authorization": f"Bearer {session['access_token']}"}, session


@pytest.fixture
def signed_in(client, wechat_user):
    """A signed-in member: (headers with the bearer token, the login answer)."""
    return sign_in(client, wechat_user)


def new_staff(client, role, store_id=None):
    """A fresh person holding a staff role, invited and claimed the way staff are."""
    from chalicelib.members import staff

    headers, session = sign_in(client, WeChatUser(f"{role}-{uuid.uuid4().hex[:10]}"))
    code = staff.invite(role, store_id, None, admin_id="test-bootstrap")["code"]
    claimed = client.http.post("/staff/invites/claim", headers={**headers, **JSON},
                               body=json.dumps({"code": code}))
    assert claimed.status_code == 200, claimed.body
    return headers, session


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def shopper(client, served_app):
    """A signed-in shopper whose payments WeChat (the sandbox) notifies to the served app:
    (headers, member_id)."""
    headers, session = sign_in(client, WeChatUser(f"shopper-{uuid.uuid4().hex[:10]}"))
    return headers, session["member"]["member_id"]


@pytest.fixture
def admin(client):
    return new_staff(client, "admin")[0]
