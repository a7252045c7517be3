"""What the domains need from WeChat, independent of the library that talks to it."""
from dataclasses import dataclass
from typing import Optional, Protocol

MAX_SCENE_LENGTH = 32  # WeChat's limit for getwxacodeunlimit


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str
    unionid: Optional[str] = None


class MiniProgram(Protocol):
    def code_to_session(self, code: str) -> WeChatSession:
        """Exchanges a wx.login() code; DomainError wechat_code_invalid for a bad or used code."""

    def phone_number(self, code: str) -> str:
        """The phone number behind a getPhoneNumber button code."""

    def mini_program_code(self, scene: str, page: str) -> bytes:
        """A mini-program code PNG (getwxacodeunlimit) that opens `page` with `scene`."""
