"""The events members are told about, each with its subscribe-message template (from
settings: `TEMPLATE_<EVENT>`), how its data is built within WeChat's field rules, and the
mini-program page the message opens.

WeChat's rules for template fields (the key's prefix names its kind; the sandbox holds each
template's keywords and kinds as WeChat does, answers 40037 for a template the account lacks
and 47003 for data that is not exactly the template's keywords or breaks a kind's rule, and
tests/api/test_notifications.py sends every event's data through it):
  thing             at most 20 characters (we cut with "…")
  amount            one currency sign and at most 10 digits: "¥12.30" (we give fen; the
                    cents are left out of amounts too large for 10 digits)
  time              a 24-hour time, the date before it allowed: "YYYY-MM-DD HH:MM", shown as
                    Shanghai time
  phrase            at most 5 Chinese characters (we keep only those)
  character_string  at most 32 letters, digits and ASCII symbols (we keep only those)
  number            at most 32 digits
"""
import re
from dataclasses import dataclass
from datetime import datetime
from chalicelib.core.clock import SHANGHAI

THING_MAX, PHRASE_MAX, STRING_MAX, NUMBER_MAX, AMOUNT_DIGITS = 20, 5, 32, 32, 10
_NOT_HAN = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff]")
_NOT_ASCII_GRAPHIC = re.compile(r"[^!-~]")


def thing(value):
    text = " ".join(str(value).split()) or "-"
    return text if len(text) <= THING_MAX else text[:THING_MAX - 1] + "…"


def amount(value_fen):
    from chalicelib.core.money import fen

    value_fen = fen(value_fen)
    if value_fen < 0:
        raise ValueError("WeChat's amounts have no sign")
    whole, cents = divmod(value_fen, 100)
    if len(str(whole)) + 2 > AMOUNT_DIGITS:
        return f"¥{whole}"
    return f"¥{whole}.{cents:02d}"


def time(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def phrase(value):
    text = _NOT_HAN.sub("", str(value))[:PHRASE_MAX]
    if not text:
        raise ValueError(f"a phrase is Chinese characters, not {str(value)[:20]!r}")
    return text


def character_string(value):
    return _NOT_ASCII_GRAPHIC.sub("", str(value))[:STRING_MAX] or "-"


def number(value):
    value = int(value)
    if value < 0:
        raise ValueError("WeChat's numbers have no sign")
    return str(value)[:NUMBER_MAX]


FORMATS = {"thing": thing, "amount": amount, "time": time, "phrase": phrase,
           "character_string": character_string, "number": number}


@dataclass(frozen=True)
class Event:
    """name: the event; default_template: its template id unless TEMPLATE_<NAME> is set;
    keys: (WeChat key, field of `fields`, default) for each template field, the kind being
    the key's prefix; page: the path opened, formatted with the fields."""

    name: str
    default_template: str
    keys: tuple
    page: str

    @property
    def template_id(self):
        from chalicelib.config import settings

        return settings.template_id(self.name, self.default_template)

    def data(self, fields):
        """The template's data from the event's fields, each within its kind's rule."""
        data = {}
        for key, field, default in self.keys:
            kind = key.rstrip("0123456789")
            value = fields.get(field)
            if value is None:
                if default is None:
                    raise ValueError(f"{self.name} needs {field!r} for {key}")
                value = default
            data[key] = {"value": FORMATS[kind](value)}
        return data

    def page_for(self, fields):
        try:
            return self.page.format(**fields)
        except (KeyError, IndexError):
            return self.page.split("?")[0]


EVENTS = {event.name: event for event in (
    Event("order_paid", "tpl-order-paid",
          (("character_string1", "order_id", None), ("amount2", "total_fen", None),
           ("thing3", "goods", "您的订单"), ("time4", "paid_at", None)),
          "pages/order/detail?id={order_id}"),
    Event("pickup_ready", "tpl-pickup-ready",
          (("character_string1", "order_id", None), ("character_string2", "pickup_code", None),
           ("thing3", "store", "门店"), ("thing4", "note", "凭取货码到店自提")),
          "pages/order/detail?id={order_id}"),
    Event("shipped", "tpl-shipped",
          (("character_string1", "order_id", None), ("thing2", "carrier", "快递"),
           ("character_string3", "tracking_no", "-"), ("time4", "shipped_at", None)),
          "pages/order/detail?id={order_id}"),
    Event("refund_done", "tpl-refund-done",
          (("character_string1", "order_id", None), ("amount2", "refund_fen", None),
           ("time3", "settled_at", None), ("thing4", "note", "退款已原路退回")),
          "pages/order/detail?id={order_id}"),
    # thing1 and phrase2 as the group-buy's template always had them
    Event("group_result", "group-buy-result",
          (("thing1", "campaign", None), ("phrase2", "result", None)),
          "pages/group/index?id={group_id}"),
    # thing1 and time2 as the flash-sale reminder's template always had them
    Event("flash_reminder", "flash-sale-reminder",
          (("thing1", "sale", None), ("time2", "starts_at", None)),
          "pages/flash/index?id={sale_id}"),
    Event("live_starting", "tpl-live-starting",
          (("thing1", "title", None), ("time2", "starts_at", None),
           ("thing3", "host", "主播")),
          "pages/live/room?id={session_id}"),
    Event("reactivation", "tpl-reactivation",
          (("thing1", "coupon", None), ("time2", "expires_at", None),
           ("thing3", "note", "好久不见，送您一张优惠券")),
          "pages/coupons/index"),
)}


def event_of_template(template_id):
    """The event whose template this is, or None."""
    return next((event.name for event in EVENTS.values()
                 if event.template_id == template_id), None)
