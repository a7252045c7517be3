"""`make run`'s launcher, as a person uses it: start, sign in with curl-like calls, Ctrl-C,
start again and find yesterday's data."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests

from devtools.processes import ROOT, free_port


def _start(env):
    return subprocess.Popen([sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _wait_for_api(url, launcher, timeout_s=90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert launcher.poll() is None, launcher.stdout.read()
        try:
            return requests.get(f"{url}/health", timeout=2)
        except requests.ConnectionError:
            time.sleep(0.3)
    raise AssertionError("the API did not come up")


def _ctrl_c(launcher):
    os.killpg(launcher.pid, signal.SIGINT)
    launcher.wait(timeout=30)


def _port_is_free(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _sign_in(url, code):
    answer = requests.post(f"{url}/auth/login", json={"code": code}, timeout=10)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    return requests.get(f"{url}/members/me", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()


def test_run_serves_the_walkthrough_stops_cleanly_and_keeps_data(tmp_path):
    ports = {"API_PORT": free_port(), "DYNAMODB_PORT": free_port(),
             "WECHAT_SANDBOX_PORT": free_port(), "WECHAT_SANDBOX_TLS_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "YUTANG_DATA_DIR": str(tmp_path / "dynamodb")}
    for name in ("DYNAMODB_HOST", "WECHAT_API_BASE", "WECHAT_PAY_API_BASE", "TABLE_PREFIX",
                 "YUTANG_STAGE"):
        env.pop(name, None)
    url = f"http://127.0.0.1:{ports['API_PORT']}"

    launcher = _start(env)
    try:
        assert _wait_for_api(url, launcher).json() == {"status": "ok", "dynamodb": "reachable"}
        first = _sign_in(url, "sandbox:alice:1")
        unknown = requests.get(f"{url}/no/such/route", timeout=10)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
    finally:
        _ctrl_c(launcher)
    output = launcher.stdout.read()
    assert "demo brand:" in output and "Traceback" not in output
    assert all(_port_is_free(port) for port in ports.values())

    launcher = _start(env)
    try:
        _wait_for_api(url, launcher)
        again = _sign_in(url, "sandbox:alice:2")
    finally:
        _ctrl_c(launcher)
    assert again["member_id"] == first["member_id"]
    assert "demo brand: 0 items written" in launcher.stdout.read()


def test_a_taken_port_gets_a_clear_message(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {**os.environ, "API_PORT": str(taken), "DYNAMODB_PORT": str(free_port()),
               "WECHAT_SANDBOX_PORT": str(free_port()),
               "YUTANG_DATA_DIR": str(tmp_path / "dynamodb")}
        run = subprocess.run([sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=30)

    assert run.returncode == 2
    assert f"port {taken} is already in use" in run.stderr
    assert "API_PORT" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
