"""What the domains need from WeChat, independent of the library that talks to it."""
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Protocol

MAX_SCENE_LENGTH = 32  # WeChat's limit for getwxacodeunlimit


@dataclass(frozen=True)
class WeChatSession:
    """Who signed in. WeChat's session_key is left out: nothing here decrypts user data with
    it, and a key not kept cannot leak."""

    openid: str
    unionid: Optional[str] = None


class MiniProgram(Protocol):
    def code_to_session(self, code: str) -> WeChatSession:
        """Exchanges a wx.login() code; DomainError wechat_code_invalid for a bad or used code."""

    def phone_number(self, code: str) -> str:
        """The phone number behind a getPhoneNumber button code."""

    def mini_program_code(self, scene: str, page: str) -> bytes:
        """A mini-program code JPEG (getwxacodeunlimit) that opens `page` with `scene`."""

    def send_subscribe_message(self, openid: str, template_id: str, page: str,
                               data: dict) -> int:
        """Sends a subscribe message; 0, or WeChat's errcode when it refused it.
        DomainError wechat_unavailable when WeChat did not take it (unreachable, busy: -1,
        an HTTP error); SendUnanswered when WeChat heard it but its answer never came."""


class SendUnanswered(Exception):
    """WeChat got the request and did not answer in time: it may have done what was asked."""


class InvalidNotify(ValueError):
    """A payment or refund notify that is not WeChat's: `reason` is malformed (not WeChat's
    flat XML), signature or decryption; the message says what was wrong."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


class Pay(Protocol):
    """WeChat Pay v2, as checkout uses it. Amounts are fen."""

    def unified_order(self, out_trade_no: str, total_fee: int, openid: str, body: str,
                      notify_url: str, time_start: datetime, time_expire: datetime) -> str:
        """Creates (or, with the same terms, finds) WeChat's order, payable until
        time_expire; returns the prepay_id (alive 2 hours; asking again after that with the
        same terms gives a new one)."""

    def jsapi_params(self, prepay_id: str) -> dict:
        """The signed parameters the mini-program passes to wx.requestPayment."""

    def verified_notify(self, xml: str) -> dict:
        """The notify's fields if its signature holds (MD5 or HMAC-SHA256, as it declares, or
        either when it declares none); InvalidNotify otherwise."""

    def query(self, out_trade_no: str) -> dict:
        """orderquery: trade_state, total_fee, transaction_id, time_end…"""

    def close(self, out_trade_no: str) -> None:
        """closeorder (which WeChat refuses in the order's first 5 minutes)."""

    def refund(self, out_trade_no: str, out_refund_no: str, total_fee: int,
               refund_fee: int, notify_url: str, from_available_funds: bool = False) -> dict:
        """Asks for a refund; the same out_refund_no again is the same refund. It is paid from
        the payments not yet settled to the merchant, or from_available_funds: from the
        merchant's available balance."""

    def refund_status(self, out_refund_no: str) -> str:
        """SUCCESS, PROCESSING, REFUNDCLOSE or CHANGE."""

    def decrypted_refund_notify(self, xml: str) -> dict:
        """The refund result notify's req_info, decrypted; InvalidNotify if it is not ours."""


class PayFailed(Exception):
    """WeChat Pay answered with an error (err_code in .code)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# What a payment or refund notify is answered with: SUCCESS, or FAIL with why (WeChat then
# notifies again later).
SUCCESS_ANSWER = ("<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                  "<return_msg><![CDATA[OK]]></return_msg></xml>")


def fail_answer(message):
    return (f"<xml><return_code><![CDATA[FAIL]]></return_code>"
            f"<return_msg><![CDATA[{message}]]></return_msg></xml>")
