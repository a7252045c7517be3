"""`make run` runs the app's scheduled jobs as AWS would, and `python -m devtools.jobs` lists
them and runs one now against it: seen as a person sees them, through the API and the
launcher's own output."""
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

from devtools.processes import ROOT, free_port

STORE, PRODUCT, SKU = "store-xintiandi", "p-oolong", "p-oolong-250g"


def _environment(tmp_path, **more):
    ports = {"API_PORT": free_port(), "DYNAMODB_PORT": free_port(),
             "WECHAT_SANDBOX_PORT": free_port(), "WECHAT_SANDBOX_TLS_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "YUTANG_DATA_DIR": str(tmp_path / "dynamodb"), **more}
    for name in ("DYNAMODB_HOST", "WECHAT_API_BASE", "WECHAT_PAY_API_BASE", "TABLE_PREFIX",
                 "YUTANG_STAGE"):
        env.pop(name, None)
    return env, f"http://127.0.0.1:{ports['API_PORT']}"


def _jobs(env, *arguments):
    return subprocess.run([sys.executable, "-m", "devtools.jobs", *arguments], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def _until(what, check, launcher, timeout_s):
    """Asks again every second until check() answers something true; the launcher must keep
    running meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "make run stopped"
        try:
            found = check()
        except requests.ConnectionError:
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout_s}s")


def _store_stock(url, headers):
    answer = requests.get(f"{url}/stores/{STORE}/products/{PRODUCT}", headers=headers,
                          timeout=10)
    assert answer.status_code == 200, answer.text
    return next(sku["store_stock"] for sku in answer.json()["skus"] if sku["sku_id"] == SKU)


def test_the_jobs_are_listed_and_an_unknown_one_is_refused(tmp_path):
    env, _ = _environment(tmp_path)

    listed = _jobs(env, "--list")
    assert listed.returncode == 0, listed.stderr
    for name, schedule in (("orders-minute", "rate(1 minute)"), ("refunds", "rate(5 minutes)"),
                           ("expire-points", "cron(5 16 * * ? *)")):
        assert any(line.split(None, 1)[0] == name and f" {schedule} " in line
                   for line in listed.stdout.splitlines()[1:])
    assert _jobs(env).stdout == listed.stdout  # no name lists them too

    unknown = _jobs(env, "no-such-job")
    assert unknown.returncode == 2
    assert "no job named 'no-such-job'" in unknown.stderr and "orders-minute" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    alone = _jobs(env, "refunds")  # no `make run` on these ports
    assert alone.returncode == 1
    assert "no `make run` is running" in alone.stderr and "Traceback" not in alone.stderr


@contextmanager
def _running_make_run(env, url, output, shopper):
    """`make run` (devtools.run) with env, its output in `output`, until the API answers; the
    headers of a shopper signed in with the sandbox code of `shopper`, and the launcher.
    Stopped with Ctrl-C's signal at the end."""
    with output.open("w") as written:
        launcher = subprocess.Popen([sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env,
                                    stdout=written, stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)
    try:
        _until("the API answers", lambda: requests.get(f"{url}/health", timeout=2).ok,
               launcher, timeout_s=120)
        login = requests.post(f"{url}/auth/login", json={"code": f"sandbox:{shopper}:1"},
                              timeout=10)
        yield {"Authorization": f"Bearer {login.json()['access_token']}"}, launcher
    finally:
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=60)


def test_make_run_closes_an_unpaid_order_on_schedule_and_runs_a_job_on_demand(tmp_path):
    """An order left unpaid past its time to pay (one minute here) is closed by the
    orders-minute job, with nobody asking, and its stock comes back."""
    env, url = _environment(tmp_path, ORDER_PAY_MINUTES="1")
    output = tmp_path / "make-run.log"
    with _running_make_run(env, url, output, "jobs") as (headers, launcher):
        before = _store_stock(url, headers)
        placed = requests.post(f"{url}/orders", headers={**headers, "Idempotency-Key": "e2e-1"},
                               json={"store_id": STORE, "fulfilment": "pickup",
                                     "items": [{"sku_id": SKU, "quantity": 1}]}, timeout=10)
        assert placed.status_code in (200, 201), placed.text
        order = placed.json()
        assert order["status"] == "PENDING_PAYMENT"
        assert _store_stock(url, headers) == before - 1

        def closed():
            answer = requests.get(f"{url}/orders/{order['order_id']}", headers=headers,
                                  timeout=10).json()
            return answer if answer["status"] != "PENDING_PAYMENT" else None

        # its minute to pay ends, then the next whole minute's run closes it
        assert _until("the order closed", closed, launcher, timeout_s=240)["status"] \
            == "CLOSED"
        assert _store_stock(url, headers) == before

        now = _jobs(env, "notifications")
        assert now.returncode == 0, now.stderr
        assert '"event": "job_ran"' in now.stdout and '"job": "notifications"' in now.stdout
    log = output.read_text()
    assert "`make jobs JOB=<name>` runs one now" in log
    assert '"event": "job_done", ' in log and '"closed": 1' in log
    assert '"event": "job_ran"' in log and "job_failed" not in log and "Traceback" not in log


def test_make_run_delivers_a_paid_orders_effects_from_the_orders_stream(tmp_path):
    """A shopper pays through WeChat (the sandbox notifies the API); the points the payment
    earns appear, brought by the orders stream's function that `make run` feeds, with nobody
    delivering anything by hand."""
    env, url = _environment(tmp_path)
    env["PUBLIC_API_URL"] = url  # where the sandbox sends the payment notify
    sandbox = f"http://127.0.0.1:{env['WECHAT_SANDBOX_PORT']}"
    output = tmp_path / "make-run.log"
    with _running_make_run(env, url, output, "streams") as (headers, launcher):

        def points():
            return requests.get(f"{url}/members/me", headers=headers,
                                timeout=10).json()["points_balance"]

        before = points()
        placed = requests.post(f"{url}/orders", headers={**headers, "Idempotency-Key": "e2e-2"},
                               json={"store_id": STORE, "fulfilment": "pickup",
                                     "items": [{"sku_id": SKU, "quantity": 1}]}, timeout=10)
        assert placed.status_code in (200, 201), placed.text
        order_id = placed.json()["order_id"]
        started = requests.post(f"{url}/orders/{order_id}/pay", headers=headers, timeout=20)
        assert started.status_code == 200, started.text
        assert requests.post(f"{sandbox}/__sandbox__/pay/orders/{order_id}/pay",
                             timeout=10).status_code == 200

        def paid():
            return requests.get(f"{url}/orders/{order_id}", headers=headers,
                                timeout=10).json()["status"] == "PAID"

        _until("the order paid", paid, launcher, timeout_s=60)
        earned = _until("the payment's points", lambda: points() - before, launcher,
                        timeout_s=60)
        assert earned > 0
    log = output.read_text()
    assert "streams: each table's changes reach" in log
    batches = [line for line in log.splitlines() if '"event": "stream_batch"' in line]
    assert batches and all('"ok": true' in line for line in batches), batches
    assert any('"function": "orders-stream"' in line for line in batches), batches
    assert "stream_batch_dropped" not in log and "Traceback" not in log
