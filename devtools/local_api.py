"""The API served locally answers a path no route matches as the deployed one does: 404
`not_found` in the error shape; and a request whose Content-Length is not a number with 400.

API Gateway answers such a path itself, 403 {"message": "Missing Authentication Token"}, and
the stack's gateway responses (infra/) give that answer our shape. `chalice local` and
chalice's test Client imitate API Gateway in LocalGateway.handle_request, before the app sees
the request, so nothing in the app can change it: `install()` wraps that method. The test
suite installs it, and `make run` serves the API with `python -m devtools.local_api local …`,
which is `chalice local` with it installed.

It also answers a kept-alive connection at once: chalice local's handler writes the headers
and the body of an answer separately, and with Nagle's algorithm on, the body then waits for
the client's delayed ACK (about 40 ms an answer).
"""
import functools
import json
import sys

from chalice import local

from chalicelib.errors import error_body


class UnknownRoute(local.LocalGatewayException):
    CODE = 404

    def __init__(self, headers):
        body = json.dumps(error_body("not_found", "No route matches this path."),
                          separators=(",", ":"))
        super().__init__({"x-amzn-RequestId": headers.get("x-amzn-RequestId", ""),
                          "Content-Type": "application/json"}, body.encode())


class MalformedLength(local.LocalGatewayException):
    CODE = 400

    def __init__(self):
        body = json.dumps(error_body("bad_request", "Content-Length is not a number."),
                          separators=(",", ":"))
        super().__init__({"Content-Type": "application/json"}, body.encode())


def _refusing_malformed_lengths(handle):
    """chalice local's handler reads Content-Length with int() and drops the connection when
    it is not a number; API Gateway answers 400."""
    @functools.wraps(handle)
    def generic_handle(self):
        length = self.headers.get("Content-Length")
        if length is not None and not (length.isascii() and length.isdigit()):
            self.close_connection = True
            return self._send_error_response(MalformedLength())
        return handle(self)

    return generic_handle


def install():
    """Makes every LocalGateway (chalice local's and the test Client's) answer unknown routes
    with 404, and chalice local's server a malformed Content-Length with 400 (and each answer
without waiting for an ACK). Installing twice
    changes nothing."""
    handle_request = local.LocalGateway.handle_request
    if getattr(handle_request, "answers_unknown_routes", False):
        return
    handler = local.ChaliceRequestHandler
    handler.disable_nagle_algorithm = True
    generic_handle = _refusing_malformed_lengths(handler._generic_handle)
    for verb in ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS"):
        setattr(handler, f"do_{verb}", generic_handle)

    @functools.wraps(handle_request)
    def handle(self, method, path, headers, body):
        try:
            return handle_request(self, method, path, headers, body)
        except local.ForbiddenError as refusal:
            # Chalice raises it with this error type only when no route matches the path.
            if refusal.headers.get("x-amzn-ErrorType") != "UnauthorizedException":
                raise
            raise UnknownRoute(refusal.headers) from None

    handle.answers_unknown_routes = True
    local.LocalGateway.handle_request = handle


if __name__ == "__main__":
    from chalice.cli import main

    install()
    sys.exit(main())
