"""The HTTP and HTTPS servers: routes, the request handler, and start() for tests and
`python -m sandbox`."""
import re
import shutil
import ssl
import sys
import tempfile
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from sandbox import control, faults, messages, miniprogram, pay, tls
from sandbox.config import Credentials
from sandbox.state import SandboxState
from sandbox.web import BadRequest, Request, Response, json_response, wechat_error

ROUTES = [
    ("GET", "/sns/jscode2session", miniprogram.code_to_session),
    ("GET", "/cgi-bin/token", miniprogram.issue_access_token),
    ("POST", "/wxa/business/getuserphonenumber", miniprogram.phone_number),
    ("POST", "/wxa/getwxacodeunlimit", miniprogram.wxacode_unlimited),
    ("POST", "/cgi-bin/message/subscribe/send", messages.send_subscribe_message),
    ("POST", "/pay/unifiedorder", pay.unified_order),
    ("POST", "/pay/orderquery", pay.order_query),
    ("POST", "/pay/closeorder", pay.close_order),
    ("POST", "/secapi/pay/refund", pay.refund),
    ("POST", "/pay/refundquery", pay.refund_query),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/pay", control.pay_order),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/renotify", control.renotify),
    ("GET", "/__sandbox__/pay/orders/{out_trade_no}", control.get_order),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/pay-after-close", control.pay_after_close),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/notifies/hold", control.hold_notifies),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/notifies/release",
     control.release_notifies),
    ("POST", "/__sandbox__/pay/orders/{out_trade_no}/age", control.age_order),
    ("GET", "/__sandbox__/pay/refunds/{out_refund_no}", control.get_refund),
    ("POST", "/__sandbox__/pay/refunds/{out_refund_no}/hold", control.hold_refund),
    ("POST", "/__sandbox__/pay/refunds/{out_refund_no}/settle", control.settle_refund_now),
    ("GET", "/__sandbox__/pay/refund-funds", control.refund_funds),
    ("POST", "/__sandbox__/pay/refund-funds", control.refund_funds),
    ("GET", "/__sandbox__/pay/notifies", control.list_notifies),
    ("GET", "/__sandbox__/messages", control.list_messages),
    ("POST", "/__sandbox__/messages/accept", control.accept_messages),
    ("GET", "/__sandbox__/messages/templates", control.list_templates),
    ("POST", "/__sandbox__/messages/templates", control.add_template),
    ("GET", "/__sandbox__/miniprogram/pages", control.released_pages),
    ("POST", "/__sandbox__/miniprogram/release", control.release_pages),
    ("GET", "/__sandbox__/wxacodes", control.list_wxacodes),
    ("POST", "/__sandbox__/login_codes", control.mint_login_code),
    ("POST", "/__sandbox__/phone_codes", control.mint_phone_code),
    ("POST", "/__sandbox__/access_tokens/quota", control.set_token_quota_used),
    ("POST", "/__sandbox__/clock/advance", control.advance_clock),
    ("GET", "/__sandbox__/stats", control.stats),
    ("POST", "/__sandbox__/faults", control.add_fault),
    ("GET", "/__sandbox__/faults", control.list_faults),
    ("DELETE", "/__sandbox__/faults", control.clear_faults),
    ("POST", "/__sandbox__/reset", control.reset),
]
CONTROL_PREFIX = "/__sandbox__/"
WECHAT_PATHS = frozenset(template for _, template, _ in ROUTES
                         if not template.startswith(CONTROL_PREFIX))


def _compile(template):
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


_COMPILED_ROUTES = [(method, _compile(template), endpoint)
                    for method, template, endpoint in ROUTES]


def dispatch(state, request):
    for method, pattern, endpoint in _COMPILED_ROUTES:
        match = pattern.match(request.path)
        if match and method == request.method:
            request.path_params = {name: unquote(value)
                                   for name, value in match.groupdict().items()}
            if request.path not in WECHAT_PATHS:
                return _call(endpoint, state, request)
            with state.lock:
                fault, cancelled = faults.take(state, request), state.cancelled
            if fault is None:
                return _call(endpoint, state, request)
            response = _call(_faulty(endpoint, fault), state, request)
            cancelled.wait(fault.delay_s)  # a reset or the sandbox stopping ends the wait
            return response
    return json_response({"errcode": -1, "errmsg": "not found"}, status=404)


def _faulty(endpoint, fault):
    """The endpoint that answers for a request a fault hits."""
    if fault.http_status:
        return lambda state, request: fault.gateway_error()
    if fault.err_code:
        return pay.failing_endpoint(fault.err_code, fault.err_code_des)
    if fault.errcode:
        return lambda state, request: wechat_error(
            fault.errcode, faults.MINIPROGRAM_ERROR_DESCRIPTIONS.get(fault.errcode, "error"))
    return endpoint


def _call(endpoint, state, request):
    try:
        return endpoint(state, request)
    except BadRequest as error:
        return control.control_error(400, str(error))
    except Exception as error:  # a sandbox bug: answer 500 and show it, keep serving
        traceback.print_exc(file=sys.stderr)
        return control.control_error(500, f"sandbox error: {error!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session expects
    # Headers and body are separate writes; with Nagle on, a keep-alive client waits ~40 ms
    # (delayed ACK) for each answer.
    disable_nagle_algorithm = True
    server_version = "WeChatSandbox/1.0"
    timeout = 60  # seconds an idle keep-alive connection holds a thread

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up on a slow answer
            self.close_connection = True

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = Request.from_raw(self.command, self.path, self.rfile.read(length))
        if request.path.startswith(tls.SECURE_PREFIX) and not self._has_client_certificate():
            response = Response(400, "text/html", tls.NO_CERTIFICATE_PAGE.encode())
        else:
            response = dispatch(self.server.state, request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _has_client_certificate(self):
        """Whether the client presented a certificate the CA signed (over HTTPS only; the
        handshake refuses one it did not sign)."""
        return isinstance(self.connection, ssl.SSLSocket) \
            and bool(self.connection.getpeercert())

    def log_message(self, format, *args):
        """Quiet: tests and `make run` read the sandbox through its control endpoints."""


class _HttpsServer(ThreadingHTTPServer):
    """Each connection's TLS handshake happens in its own thread, so a slow or failing
    client holds up no other."""

    def __init__(self, address, context):
        super().__init__(address, _Handler)
        self._context = context

    def finish_request(self, request, client_address):
        request.settimeout(_Handler.timeout)
        try:
            with self._context.wrap_socket(request, server_side=True) as secure:
                super().finish_request(secure, client_address)
        except OSError:
            pass  # e.g. a client certificate the CA did not sign: the handshake refused it


class SandboxServer:
    """WeChat over HTTP on `port` and over HTTPS on `tls_port` (0: any free port), with a test
    CA made in `ca_dir` (default: a temporary directory, removed on stop)."""

    def __init__(self, host, port, state, tls_port=0, ca_dir=None):
        self.state = state
        self._own_ca_dir = ca_dir is None
        self.ca_dir = ca_dir or tempfile.mkdtemp(prefix="wechat-sandbox-ca-")
        tls.make_certificates(self.ca_dir, state.credentials.mch_id)
        self._servers = [ThreadingHTTPServer((host, port), _Handler),
                         _HttpsServer((host, tls_port), tls.server_context(self.ca_dir))]
        for httpd in self._servers:
            httpd.state = state
        (bound_host, bound_port), (_, bound_tls_port) = \
            [httpd.server_address[:2] for httpd in self._servers]
        self.url = f"http://{bound_host}:{bound_port}"
        self.tls_url = f"https://{bound_host}:{bound_tls_port}"
        # serve_forever notices shutdown() between polls: a short interval makes stop() quick.
        self._threads = [threading.Thread(target=httpd.serve_forever, args=(0.05,),
                                          name="wechat-sandbox", daemon=True)
                         for httpd in self._servers]

    def serve_in_background(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self.state.shut_down()
        for httpd, thread in zip(self._servers, self._threads):
            httpd.shutdown()
            httpd.server_close()
            thread.join()
        if self._own_ca_dir:
            shutil.rmtree(self.ca_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start(host="127.0.0.1", port=0, time_scale=1.0, tls_port=0, ca_dir=None, **credentials):
    """Serves the sandbox in daemon threads. Credentials (app_id, app_secret, mch_id, mch_key)
    default to the WECHAT_* environment variables, then to the local defaults."""
    state = SandboxState(Credentials.from_env(**credentials), time_scale)
    return SandboxServer(host, port, state, tls_port, ca_dir).serve_in_background()
