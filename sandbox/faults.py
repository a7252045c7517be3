"""Faults a test tells the sandbox to make on a WeChat path, as WeChat makes them: an error
code, an HTTP error from its gateway, an answer too slow for the client. Each fault hits the
next `times` requests to its path whose fields match, then is gone; a reset clears them.

A fault of err_code (WeChat Pay) or errcode (mini-program) answers that error and does
nothing else; one of http_status answers an HTML error page and does nothing else; delay_s
alone serves the request (what it changes, changes) and answers that many seconds late, in
real seconds (the client's timeout does not follow the sandbox's time scale).
"""
import re
from dataclasses import asdict, dataclass, field
from http import HTTPStatus

from sandbox.signing import XmlFormatError, parse_xml
from sandbox.web import BadRequest, Response

# WeChat Pay's descriptions of the error codes it tells merchants to retry with the same
# request; other codes may be given with their own err_code_des.
PAY_ERROR_DESCRIPTIONS = {
    "SYSTEMERROR": "系统错误",
    "BIZERR_NEED_RETRY": "退款业务流程错误，需要商户触发重试来解决",
    "FREQUENCY_LIMITED": "频率限制",
}
MINIPROGRAM_ERROR_DESCRIPTIONS = {-1: "system error", 45009: "reach max api daily quota limit"}
ERR_CODE = re.compile(r"^[A-Z][A-Z_]{1,31}$")
MAX_DELAY_S = 60
MAX_TIMES = 1000
_GATEWAY_PAGE = ("<html><head><title>{status}</title></head><body><center><h1>{status}</h1>"
                 "</center></body></html>")


def is_pay_path(path):
    return path.startswith(("/pay/", "/secapi/pay/"))


@dataclass
class Fault:
    path: str
    match: dict = field(default_factory=dict)
    err_code: str = ""
    err_code_des: str = ""
    errcode: int = 0
    http_status: int = 0
    delay_s: float = 0
    times: int = 1
    hits: int = 0

    def to_json(self):
        return asdict(self)

    def gateway_error(self):
        """The HTML page WeChat's gateway answers with an HTTP error."""
        try:
            status = f"{self.http_status} {HTTPStatus(self.http_status).phrase}"
        except ValueError:
            status = str(self.http_status)
        return Response(self.http_status, "text/html",
                        _GATEWAY_PAGE.format(status=status).encode("utf-8"))

    @property
    def answers_error(self):
        return bool(self.err_code or self.errcode or self.http_status)


def parse(spec, wechat_paths):
    """The Fault a control request describes; BadRequest says what is wrong with it."""
    path = spec.get("path")
    if path not in wechat_paths:
        raise BadRequest(f"path must be one of WeChat's: {', '.join(sorted(wechat_paths))}")
    match = spec.get("match", {})
    if not isinstance(match, dict) or not all(isinstance(value, str)
                                              for value in match.values()):
        raise BadRequest("match must be an object of request fields and their text")
    fault = Fault(path=path, match=match)
    if "err_code" in spec:
        fault.err_code = _pay_error(spec, path)
        fault.err_code_des = spec.get("err_code_des") \
            or PAY_ERROR_DESCRIPTIONS.get(fault.err_code, fault.err_code)
    if "errcode" in spec:
        fault.errcode = _miniprogram_error(spec, path)
    if "http_status" in spec:
        fault.http_status = _whole(spec, "http_status", 500, 599)
    if "delay_s" in spec:
        delay_s = spec["delay_s"]
        if type(delay_s) not in (int, float) or not 0 < delay_s <= MAX_DELAY_S:
            raise BadRequest(f"delay_s must be a number of seconds up to {MAX_DELAY_S}")
        fault.delay_s = delay_s
    if sum(map(bool, (fault.err_code, fault.errcode, fault.http_status))) > 1:
        raise BadRequest("a fault answers one of err_code, errcode and http_status")
    if not (fault.answers_error or fault.delay_s):
        raise BadRequest("a fault needs err_code (WeChat Pay), errcode (mini-program), "
                         "http_status or delay_s")
    fault.times = _whole(spec, "times", 1, MAX_TIMES) if "times" in spec else 1
    return fault


def _pay_error(spec, path):
    if not is_pay_path(path):
        raise BadRequest("err_code is WeChat Pay's; a mini-program path takes errcode")
    err_code = spec["err_code"]
    if not isinstance(err_code, str) or not ERR_CODE.match(err_code):
        raise BadRequest("err_code must be an upper-case code such as SYSTEMERROR")
    return err_code


def _miniprogram_error(spec, path):
    if is_pay_path(path):
        raise BadRequest("errcode is the mini-program's; a WeChat Pay path takes err_code")
    errcode = spec["errcode"]
    if type(errcode) is not int or errcode == 0:
        raise BadRequest("errcode must be a non-zero whole number such as -1")
    return errcode


def _whole(spec, name, low, high):
    value = spec[name]
    if type(value) is not int or not low <= value <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return value


def request_fields(request):
    """What a fault's match is compared with: the WeChat Pay request's XML fields, or the
    mini-program request's query and JSON body."""
    if is_pay_path(request.path):
        try:
            return parse_xml(request.body)
        except XmlFormatError:
            return {}
    fields = dict(request.query)
    try:
        body = request.json(required=False)
    except BadRequest:
        body = {}
    fields.update({name: value for name, value in body.items() if isinstance(value, str)})
    return fields


def take(state, request):
    """The first fault for this request, counted as hit (and gone after its last time), or
    None. Call with the state lock held."""
    fields = None
    for fault in state.faults:
        if fault.path != request.path:
            continue
        if fields is None:
            fields = request_fields(request)
        if all(fields.get(name) == value for name, value in fault.match.items()):
            fault.hits += 1
            if fault.hits >= fault.times:
                state.faults.remove(fault)
            return fault
    return None
