"""Members: the CSV import at scale, and what a returning member's login costs in DynamoDB
requests. Runs on its own in-memory DynamoDB Local and WeChat sandbox."""
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager

from devtools import processes

IMPORT_ROWS = 100_000


@contextmanager
def local_stack():
    """A DynamoDB Local and WeChat sandbox of this scenario's own, with the tables made (the
    models follow the endpoint: each scenario's is on another port)."""
    dynamodb_port, sandbox_port, sandbox_tls_port = (processes.free_port() for _ in range(3))
    ca_dir = tempfile.mkdtemp(prefix="wechat-sandbox-ca-")
    started = [processes.start_dynamodb_local(dynamodb_port, stdout=subprocess.DEVNULL)]
    try:
        started.append(processes.start_wechat_sandbox(sandbox_port, sandbox_tls_port, ca_dir,
                                                      stdout=subprocess.DEVNULL))
        os.environ.update({"YUTANG_STAGE": "bench", "TABLE_PREFIX": "yutang-bench-",
                           "WECHAT_APP_SECRET": "sandbox-app-secret",
                           "TOKEN_SECRET": "bench-token-secret", "YUTANG_TRACING": "off"})
        os.environ.update(processes.local_environment(dynamodb_port, sandbox_port,
                                                      sandbox_tls_port, ca_dir))
        from chalicelib.tables import create_missing_tables

        create_missing_tables()
        yield
    finally:
        processes.stop(started)
        shutil.rmtree(ca_dir, ignore_errors=True)


@contextmanager
def counting_dynamodb_requests():
    """Counts the DynamoDB API calls made inside the block (each is one billed request)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    counted = []

    def counting(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            counted.append(operation)
        return original(client, operation, params)

    BaseClient._make_api_call = counting
    try:
        yield counted
    finally:
        BaseClient._make_api_call = original


def _csv(rows):
    lines = ["phone,name,level,points,store_id,joined_on"]
    lines += [f"13{n:09d},会员{n},,{n % 500},,2024-01-01" for n in range(rows)]
    return "\n".join(lines) + "\n"


def _import_rate(rows):
    from chalicelib.members.importer import import_members

    text = _csv(rows)
    started = time.perf_counter()
    report = import_members(text)
    elapsed = time.perf_counter() - started
    assert report["imported"] == rows and not report["rejected"], report
    return rows / elapsed


def _login_requests():
    from chalicelib import wechat
    from chalicelib.members import accounts as services

    services.login("sandbox:bench-returning:1", wechat.mini_program())  # first sign-in
    with counting_dynamodb_requests() as counted:
        services.login("sandbox:bench-returning:2", wechat.mini_program())
    return len(counted)


def run():
    with local_stack():
        return {
            "login_dynamodb_requests": _login_requests(),
            "member_import_rows_per_s": round(_import_rate(IMPORT_ROWS)),
        }
