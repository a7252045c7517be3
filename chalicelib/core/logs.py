"""Structured logs: one JSON object a line, each carrying the request id.

No line holds a secret, a WeChat code or a token: `scrub` takes them out of what we write, of
what the libraries log through `logging`, and of what X-Ray records (core/tracing.py). WeChat
wants its AppSecret, login code and access token in the query string, so the URL of a failed
call, which requests puts in its exception's message, holds all three.
"""
import json
import logging
import re
import sys
import time
import traceback
from contextvars import ContextVar

_request_id = ContextVar("request_id", default="-")

HIDDEN = "[hidden]"
# Query parameters and JSON fields whose values are secrets, codes or tokens. `key` is the
# WeChat Pay key in the string wechatpy signs; `sign` a signature made with it.
_SECRET_PARAMETERS = re.compile(
    r"(?i)(?<![\w-])(secret|appsecret|js_code|code|access_token|refresh_token|session_key|key|"
    r"sign|paySign)=[^&\s'\"<>()\\]+")
_SECRET_FIELDS = re.compile(
    r'(?i)("(?:secret|js_code|code|access_token|refresh_token|session_key)"'
    r'\s*:\s*)"(?:[^"\\]|\\.)*"')
_BEARER = re.compile(r"(?i)\b(Bearer\s+)[\w.~+/=-]+")
_known_secrets = set()


def keep_secret(value):
    """From now on `scrub` hides this exact value (the AppSecret, the WeChat Pay key) wherever
    it appears, whatever the text around it."""
    if value and len(value) >= 8:
        _known_secrets.add(value)


def scrub(text):
    """The text with secret query parameters, secret JSON fields, bearer tokens and the known
    secrets replaced by [hidden]."""
    text = _SECRET_PARAMETERS.sub(lambda m: f"{m.group(1)}={HIDDEN}", text)
    text = _SECRET_FIELDS.sub(lambda m: f'{m.group(1)}"{HIDDEN}"', text)
    text = _BEARER.sub(lambda m: m.group(1) + HIDDEN, text)
    for secret in _known_secrets:
        text = text.replace(secret, HIDDEN)
    return text


def request_id():
    return _request_id.get()


def bind_request(request_id_value):
    return _request_id.set(request_id_value)


def unbind_request(token):
    _request_id.reset(token)


def _write(level, event, fields):
    record = {"level": level, "event": event, "request_id": request_id(),
              "ts": round(time.time(), 3), **fields}
    sys.stdout.write(scrub(json.dumps(record, ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()


def info(event, **fields):
    _write("info", event, fields)


def warning(event, **fields):
    _write("warning", event, fields)


def exception(event, **fields):
    """Logs the exception being handled, with its traceback, for operators only."""
    _write("error", event, {**fields, "traceback": traceback.format_exc()})


# At DEBUG, wechatpy logs the string it signs (ending in the WeChat Pay key), botocore every
# request body (the stored access token), urllib3 each URL, the X-Ray SDK each segment it
# sends: whatever level the function logs at, these stay at WARNING.
_CHATTY_LIBRARIES = ("wechatpy", "botocore", "urllib3", "aws_xray_sdk", "pynamodb")


def _scrubbed_records(make_record):
    def make(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep what can be read
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), ()
        if record.exc_info:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        return record

    make.scrubs = True
    return make


def guard_library_logging():
    """Every `logging` record is scrubbed as it is made, and the chatty libraries' DEBUG and
    INFO lines are never made. Once per process."""
    if not getattr(logging.getLogRecordFactory(), "scrubs", False):
        logging.setLogRecordFactory(_scrubbed_records(logging.getLogRecordFactory()))
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


guard_library_logging()
