"""How a route is declared: path, method, who may call it, and the schemas of what goes in
and out. The declaration registers the Chalice route, checks the caller and the input before
the view runs, turns a DomainError into the one error shape, and feeds the OpenAPI document.
"""
import functools
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from chalicelib.core import logs, tracing
from chalicelib.core.validation import parse_json_body, validate
from chalicelib.errors import CHALICE_ERROR_CODES, DomainError, error_body, error_response

PUBLIC = "public"
MEMBER = "member"


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    auth: str
    summary: str
    tag: str
    body: dict = None
    query: dict = None
    response: dict = None
    status: int = 200
    error_codes: tuple = ()

    @property
    def path_params(self):
        return re.findall(r"{(\w+)}", self.path)


ROUTES = []

# The request being served. Chalice keeps it in one attribute of the app, which concurrent
# requests overwrite under `chalice local`; the middleware hands each request its own.
_current_request = ContextVar("current_request")


@dataclass
class Call:
    """What a view gets: validated input and who is calling."""

    body: dict = None
    query: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    member_id: str = None
    headers: dict = field(default_factory=dict)


def _bearer_member_id(headers):
    from chalicelib.core import tokens

    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("unauthorized", "Sign in first: send Authorization: Bearer <token>.")
    return tokens.verify(token.strip(), tokens.ACCESS)["sub"]


def _build_call(spec, request, path_params):
    headers = {name.lower(): value for name, value in request.headers.items()}
    call = Call(params=path_params, headers=headers)
    if spec.auth != PUBLIC:
        call.member_id = _bearer_member_id(headers)
    if spec.query is not None:
        call.query = validate(spec.query, dict(request.query_params or {}), "query")
    if spec.body is not None:
        call.body = validate(spec.body, parse_json_body(request.raw_body), "body")
    return call


def route(bp, path, method="GET", *, auth, summary, body=None, query=None, response=None,
          status=200, error_codes=()):
    """Declares a route on a blueprint. The view takes a Call and returns a JSON-able body."""
    def decorator(view):
        tag = view.__module__.split(".")[-2]
        spec = RouteSpec(path, method, auth, summary, tag, body, query, response, status,
                         tuple(error_codes))
        ROUTES.append(spec)

        @functools.wraps(view)
        def handler(**path_params):
            from chalice import Response

            try:
                call = _build_call(spec, _current_request.get(), path_params)
                return Response(body=view(call), status_code=spec.status)
            except DomainError as exc:
                return error_response(exc.code, exc.message, exc.status)
            except Exception:
                logs.exception("unhandled_error", path=spec.path, method=spec.method)
                return error_response("internal_error",
                                      f"Something went wrong (request {logs.request_id()}).")

        bp.route(path, methods=[method])(handler)
        return view

    return decorator


def _in_error_shape(response):
    """Chalice answers some requests itself ({"Code", "Message"}); give those our shape."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = CHALICE_ERROR_CODES.get(body["Code"], "bad_request")
        response.body = error_body(code, body.get("Message") or code)
    return response


def request_middleware(event, get_response):
    """Around every request: its id, its trace segment, one JSON log line, the error shape."""
    from chalice import Response

    request_id = (event.context or {}).get("requestId") or uuid.uuid4().hex
    bound_id = logs.bind_request(request_id)
    bound_request = _current_request.set(event)
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
    _current_request.reset(bound_request)
    logs.unbind_request(bound_id)
    return response
