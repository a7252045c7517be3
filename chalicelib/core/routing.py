"""How a route is declared: path, method, who may call it, and the schemas of what goes in
and out. The declaration registers the Chalice route, checks the caller and the input before
the view runs, turns a DomainError into the one error shape, and feeds the OpenAPI document.
"""
import functools
import re
from dataclasses import dataclass, field

from chalicelib.core import logs
from chalicelib.core.validation import parse_json_body, validate
from chalicelib.errors import DomainError, error_response

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
                call = _build_call(spec, bp.current_request, path_params)
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
