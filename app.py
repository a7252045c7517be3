"""Yutang: one brand's mini-program retail backend. Routes live in the blueprints below;
everything heavy is imported when a handler first needs it, to keep cold starts short.
"""
import time
import uuid

from chalice import Chalice, Response

from chalicelib.core import logs, tracing
from chalicelib.errors import CHALICE_ERROR_CODES, error_body
from chalicelib.members.api import bp as members_bp
from chalicelib.system.api import bp as system_bp

app = Chalice(app_name="yutang")
app.register_blueprint(system_bp)
app.register_blueprint(members_bp)


def _in_error_shape(response):
    """Chalice answers some requests itself ({"Code", "Message"}); give those our shape."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = CHALICE_ERROR_CODES.get(body["Code"], "bad_request")
        response.body = error_body(code, body.get("Message") or code)
    return response


@app.middleware("http")
def request_context(event, get_response):
    request_id = (event.context or {}).get("requestId") or uuid.uuid4().hex
    bound = logs.bind_request(request_id)
    started = time.perf_counter()
    try:
        with tracing.request_segment(f"{event.method} {event.path}"):
            response = _in_error_shape(get_response(event))
    except Exception:
        logs.exception("unhandled_error", path=event.path, method=event.method)
        response = Response(body=error_body("internal_error", "Something went wrong."),
                            status_code=500)
    response.headers["X-Request-Id"] = request_id
    logs.info("request", method=event.method, path=event.path, status=response.status_code,
              ms=round((time.perf_counter() - started) * 1000, 1))
    logs.unbind_request(bound)
    return response
