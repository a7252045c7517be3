import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_sandbox(*arguments):
    return subprocess.Popen([sys.executable, "-m", "sandbox", *arguments], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_it_says_where_it_listens_and_stops_cleanly_on_sigterm():
    process = run_sandbox("--port", "0", "--tls-port", "0")
    ready = process.stdout.readline()
    assert re.match(r"WeChat sandbox listening on http://127\.0\.0\.1:\d+ and "
                    r"https://127\.0\.0\.1:\d+ \(its CA and the merchant certificate in ",
                    ready)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert process.stderr.read() == ""


def test_a_taken_port_is_one_clear_line_and_status_2():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = run_sandbox("--port", str(port), "--tls-port", "0")
        _, stderr = process.communicate(timeout=10)

    assert process.returncode == 2
    assert stderr == (f"WeChat sandbox: port {port} is already in use; set "
                      "WECHAT_SANDBOX_PORT or WECHAT_SANDBOX_TLS_PORT to another port\n")
