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

# Path parameters are ids: at most 64 characters (the app's own ids have about 30, the ids an
# admin chooses at most 40), fewer where a value is shorter by its nature. They are checked
# before anything reads a key with them: DynamoDB answers an over-long key with an error.
PATH_PARAM_MAX_LENGTH = 64
PATH_PARAM_MAX_LENGTHS = {
    "scene": 32,  # WeChat's limit for a mini-program code's scene (the app's have 10)
    "tag": 20,  # the longest tag members.schemas.TAG allows
}


@dataclass(frozen=True)
class Access:
    """Who may call a route: anyone, any signed-in member, or staff in given roles. With
    `store_param`, store roles count only in the store the path names (brand admins always)."""

    kind: str
    roles: tuple = ()
    store_param: str = None

    def describe(self):
        if self.kind != "staff":
            return self.kind
        scope = f" of the store in {{{self.store_param}}}" if self.store_param else ""
        return " or ".join(self.roles) + scope


PUBLIC = Access("public")
MEMBER = Access("member")
# Anyone; a signed-in member who sends their token is recognised (and sees member prices).
VISITOR = Access("visitor")
ADMIN = Access("staff", ("admin",))


def staff(*roles, store_param=None):
    return Access("staff", ("admin", *roles), store_param)


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    auth: Access
    summary: str
    tag: str
    body: dict = None
    query: dict = None
    response: dict = None
    status: int = 200
    error_codes: tuple = ()
    content_type: str = "application/json"
    produces: str = "application/json"
    downloads: tuple = ()  # other types the view may answer in (a Download)

    @property
    def path_params(self):
        return re.findall(r"{(\w+)}", self.path)

    @functools.cached_property
    def path_schema(self):
        """What the path parameters may be: checked before the view runs, published in the
        OpenAPI document."""
        return {"type": "object", "properties": {
            name: {"type": "string", "minLength": 1,
                   "maxLength": PATH_PARAM_MAX_LENGTHS.get(name, PATH_PARAM_MAX_LENGTH)}
            for name in self.path_params}}


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
    staff: object = None  # the caller's Staff record on staff routes
    headers: dict = field(default_factory=dict)


def bearer_token(headers):
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("unauthorized", "Sign in first: send Authorization: Bearer <token>.")
    return token.strip()


def _bearer_member_id(headers):
    """The member the caller's access token acts for (after a phone merge, the merged
    member), if its session has not ended: one read of the session family."""
    from chalicelib.members import sessions

    return sessions.acting_member(bearer_token(headers))


def _staff_allowed(access, member_id, path_params):
    from chalicelib.members.staff import staff_of

    record = staff_of(member_id)
    if record is None or record.role not in access.roles:
        raise DomainError("forbidden", f"Only {access.describe()} may do this.")
    if record.role != "admin" and access.store_param:
        if record.store_id != path_params.get(access.store_param):
            raise DomainError("forbidden", "That is another store's business.")
    return record


def _body(spec, raw_body):
    if spec.content_type == "application/json":
        return validate(spec.body, parse_json_body(raw_body), "body")
    try:
        return raw_body.decode("utf-8-sig") if raw_body else ""
    except UnicodeDecodeError:
        return raw_body


def _build_call(spec, request, path_params):
    validate(spec.path_schema, path_params, "path")
    headers = {name.lower(): value for name, value in request.headers.items()}
    call = Call(params=path_params, headers=headers)
    if spec.auth != PUBLIC and (spec.auth != VISITOR or "authorization" in headers):
        call.member_id = _bearer_member_id(headers)
    if spec.auth.kind == "staff":
        call.staff = _staff_allowed(spec.auth, call.member_id, path_params)
    if spec.query is not None:
        call.query = validate(spec.query, dict(request.query_params or {}), "query")
    if spec.body is not None:
        call.body = _body(spec, request.raw_body)
    return call


@dataclass(frozen=True)
class Download:
    """A view's answer as a file, in one of the route's `downloads` types (a CSV report)."""

    text: str
    content_type: str
    filename: str

    def response(self, status):
        from chalice import Response

        return Response(body=self.text, status_code=status, headers={
            "Content-Type": self.content_type,
            "Content-Disposition": f'attachment; filename="{self.filename}"'})


def route(bp, path, method="GET", *, auth, summary, body=None, query=None, response=None,
          status=200, error_codes=(), content_type="application/json",
          produces="application/json", downloads=()):
    """Declares a route on a blueprint. The view takes a Call and returns a JSON-able body,
    or bytes when the route produces another type (a PNG), or a Download in one of
    `downloads`.

    A body in another content type than JSON (a CSV upload) reaches the view as text."""
    def decorator(view):
        tag = view.__module__.split(".")[-2]
        spec = RouteSpec(path, method, auth, summary, tag, body, query, response, status,
                         tuple(error_codes), content_type, produces, tuple(downloads))
        ROUTES.append(spec)

        @functools.wraps(view)
        def handler(**path_params):
            from chalice import Response

            try:
                call = _build_call(spec, _current_request.get(), path_params)
                answer = view(call)
                if isinstance(answer, Download):
                    return answer.response(spec.status)
                return Response(body=answer, status_code=spec.status,
                                headers={"Content-Type": spec.produces})
            except DomainError as exc:
                return error_response(exc.code, exc.message, exc.status)
            except Exception:
                logs.exception("unhandled_error", path=spec.path, method=spec.method)
                return error_response("internal_error",
                                      f"Something went wrong (request {logs.request_id()}).")

        bp.route(path, methods=[method], content_types=[content_type])(handler)
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
