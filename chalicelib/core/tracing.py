"""X-Ray tracing: on in Lambda (the stage sets "xray": true), off and silent locally unless a
daemon address is given. aws_xray_sdk is imported only when tracing is on.
"""
import contextlib
import os

from chalicelib.config import settings

_patched = False


def recorder():
    from aws_xray_sdk.core import xray_recorder

    return xray_recorder


def enable():
    """Patches botocore (DynamoDB) and requests (WeChat) once per container."""
    global _patched
    if _patched:
        return
    from aws_xray_sdk.core import patch

    recorder().configure(service="yutang", context_missing="IGNORE_ERROR")
    patch(("botocore", "requests"))
    _patched = True


@contextlib.contextmanager
def request_segment(name):
    """Traces one request. In Lambda the runtime owns the segment; elsewhere we open one."""
    if not settings.tracing:
        yield
        return
    enable()
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        with recorder().in_subsegment(name):
            yield
        return
    recorder().begin_segment(name)
    try:
        yield
    finally:
        recorder().end_segment()
