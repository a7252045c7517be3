"""Structured logs: one JSON object a line, each carrying the request id."""
import json
import sys
import time
import traceback
from contextvars import ContextVar

_request_id = ContextVar("request_id", default="-")


def request_id():
    return _request_id.get()


def bind_request(request_id_value):
    return _request_id.set(request_id_value)


def unbind_request(token):
    _request_id.reset(token)


def _write(level, event, fields):
    record = {"level": level, "event": event, "request_id": request_id(),
              "ts": round(time.time(), 3), **fields}
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def info(event, **fields):
    _write("info", event, fields)


def warning(event, **fields):
    _write("warning", event, fields)


def exception(event, **fields):
    """Logs the exception being handled, with its traceback, for operators only."""
    _write("error", event, {**fields, "traceback": traceback.format_exc()})
