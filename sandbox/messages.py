"""subscribeMessage.send as WeChat checks it.

- Each acceptance of a template in wx.requestSubscribeMessage lets the app send the user one
  message of it (a one-time subscription); a send without one answers 43101. Acceptances come
  through the control endpoint `POST /__sandbox__/messages/accept`, as the user's taps would.
- The template must be one of the account's (its keywords and their kinds, as chosen in
  WeChat's console: sandbox/config.py TEMPLATES, and those added through the control endpoint
  `POST /__sandbox__/messages/templates`), else 40037.
- The data has exactly the template's keywords, and each value keeps to the rule of its
  keyword's kind as the template declares it; else 47003 naming the key, as WeChat's errmsg
  does.
- The page opened must exist in the released mini-program (miniprogram_state formal), else
  41030.
A refused message spends nothing.
"""
import re

from sandbox.clock import now_iso
from sandbox.miniprogram import _json_body, requires_access_token
from sandbox.web import json_response, wechat_error

FIRST_MSGID = 2_000_000_000
MINIPROGRAM_STATES = ("formal", "trial", "developer")

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"
_SYMBOL = r"!-/:-@\[-`{-~"  # the printable ASCII that is neither letter nor digit
_DATE = r"\d{4}(?:年\d{1,2}月\d{1,2}日|-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2})"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"


def _span(point):
    """A point, or a period of two points joined by "~"."""
    return rf"{point}(?:\s*~\s*{point})?"


# WeChat's rules for each kind of keyword (订阅消息参数值内容限制说明).
VALUE_RULES = {
    "thing": r"(?s:.{1,20})",  # 20 characters: Chinese, digits, letters or symbols
    "number": r"\d{1,32}(?:\.\d+)?",  # digits, may have decimals
    "letter": r"[A-Za-z]{1,32}",
    "symbol": rf"[{_SYMBOL}]{{1,5}}",
    "character_string": rf"[0-9A-Za-z{_SYMBOL}]{{1,32}}",
    "time": _span(rf"(?:{_DATE} )?{_CLOCK}"),  # a 24-hour time, the date optional
    "date": _span(rf"{_DATE}(?: {_CLOCK})?"),  # a date, the time optional
    # one currency sign, at most 10 digits, decimals allowed, "元" allowed at the end
    "amount": r"[¥￥$€£]\d+(?:\.\d+)?元?",
    "phone_number": r"[0-9+\-() ]{1,17}",
    "car_number": rf"[{_HAN}0-9A-Za-z][0-9A-Za-z]{{0,6}}[{_HAN}0-9A-Za-z]?",
    # 10 Chinese characters, or 20 letters and symbols (mixed counts as Chinese)
    "name": rf"[{_HAN}A-Za-z·. ]{{1,10}}|[A-Za-z{_SYMBOL} ]{{1,20}}",
    "phrase": rf"[{_HAN}]{{1,5}}",
}
_COMPILED_RULES = {kind: re.compile(rule) for kind, rule in VALUE_RULES.items()}
AMOUNT_DIGITS = 10


def value_error(key, item, kind):
    """WeChat's 47003 errmsg for one keyword of the data, None if it keeps to its kind's
    rule."""
    value = item.get("value") if isinstance(item, dict) else None
    if value is None or value == "":
        return f"argument invalid! data.{key}.value is empty"
    if (not isinstance(value, str) or not _COMPILED_RULES[kind].fullmatch(value)
            or (kind == "amount"
                and sum(character.isdigit() for character in value) > AMOUNT_DIGITS)):
        return f"argument invalid! data.{key}.value invalid"
    return None


def data_error(data, keywords):
    """WeChat's 47003 errmsg for the data of a template of these keywords, None if it is
    right: every keyword given, none other, each value within its kind's rule."""
    if not isinstance(data, dict) or not data:
        return "argument invalid! data is empty"
    for key in data:
        if key not in keywords:
            return f"argument invalid! data.{key} is not a keyword of the template"
    for key, kind in keywords.items():
        errmsg = value_error(key, data.get(key), kind)
        if errmsg:
            return errmsg
    return None


def _refusal(state, body):
    """(errcode, errmsg) of WeChat's refusal of a well-formed send, None if it goes."""
    miniprogram_state = body.get("miniprogram_state", "formal")
    if miniprogram_state not in MINIPROGRAM_STATES:
        return 47001, "data format error"
    with state.lock:
        keywords = state.templates.get(body["template_id"])
    if keywords is None:
        return 40037, "invalid template id"
    errmsg = data_error(body.get("data"), keywords)
    if errmsg:
        return 47003, errmsg
    page = body.get("page")
    if page is not None and not isinstance(page, str):
        return 47001, "data format error"
    subscription = (body["touser"], body["template_id"])
    with state.lock:
        if page and miniprogram_state == "formal" \
                and page.split("?")[0] not in state.released_pages:
            return 41030, "invalid page"
        if state.subscriptions[subscription] < 1:
            return 43101, "user refuse to accept the msg"
        state.subscriptions[subscription] -= 1
    return None


@requires_access_token
def send_subscribe_message(state, request):
    """Every send that names a user and a template is recorded, with WeChat's errcode."""
    body = _json_body(request)
    if body is None:
        return wechat_error(47001, "data format error")
    if not isinstance(body.get("touser"), str) or not body["touser"]:
        return wechat_error(40003, "invalid openid")
    if not isinstance(body.get("template_id"), str) or not body["template_id"]:
        return wechat_error(40037, "invalid template id")
    errcode, errmsg = _refusal(state, body) or (0, "ok")
    with state.lock:
        msgid = FIRST_MSGID + len(state.messages) if errcode == 0 else None
        state.messages.append({
            "touser": body["touser"], "template_id": body["template_id"],
            "page": body.get("page"), "data": body.get("data"),
            "miniprogram_state": body.get("miniprogram_state", "formal"),
            "lang": body.get("lang", "zh_CN"), "at": now_iso(),
            "errcode": errcode, "msgid": msgid,
        })
    if errcode:
        return wechat_error(errcode, errmsg)
    return json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})
