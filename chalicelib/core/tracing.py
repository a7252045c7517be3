"""X-Ray tracing: on in Lambda (the stage sets "xray": true), off and silent locally unless a
daemon address is given. aws_xray_sdk is imported only when tracing is on.

What the SDK records is scrubbed (core/logs.scrub) on its way to the daemon: it keeps the
message of each exception raised under a subsegment, and a failed WeChat call's message holds
its URL with the AppSecret, the code and the access token.
"""
import contextlib
import os

from chalicelib.config import settings
from chalicelib.core import logs

_patched = False


class _Scrubbed:
    def __init__(self, entity):
        self._entity = entity

    def serialize(self):
        return logs.scrub(self._entity.serialize())


class ScrubbingEmitter:
    """Hands the SDK's emitter each segment and subsegment with its secrets scrubbed."""

    def __init__(self, emitter):
        self._emitter = emitter

    def send_entity(self, entity):
        self._emitter.send_entity(_Scrubbed(entity))

    def __getattr__(self, name):  # set_daemon_address, ip, port
        return getattr(self._emitter, name)


def recorder():
    from aws_xray_sdk.core import xray_recorder

    return xray_recorder


def enable():
    """Patches botocore (DynamoDB) and requests (WeChat) once per container."""
    global _patched
    if _patched:
        return
    from aws_xray_sdk.core import patch

    recorder().configure(service="yutang", context_missing="IGNORE_ERROR",
                         emitter=ScrubbingEmitter(recorder().emitter))
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
