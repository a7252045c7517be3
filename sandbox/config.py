"""The sandbox's credentials and settings, from the environment with local defaults."""
import os
from dataclasses import dataclass


# The pages of the released mini-program (its app.json) until POST /__sandbox__/miniprogram/release
# releases another version.
RELEASED_PAGES = (
    "pages/index/index", "pages/store/index", "pages/product/index", "pages/order/detail",
    "pages/group/index", "pages/flash/index", "pages/live/room", "pages/coupons/index",
)

# The account's subscribe-message templates (template id -> each keyword and its kind) until
# POST /__sandbox__/messages/templates adds others: the app's (chalicelib/notify/events.py),
# copied, since WeChat knows them from the brand's choices in its console, not from the app.
TEMPLATES = {
    "tpl-order-paid": {"character_string1": "character_string", "amount2": "amount",
                       "thing3": "thing", "time4": "time"},
    "tpl-pickup-ready": {"character_string1": "character_string",
                         "character_string2": "character_string", "thing3": "thing",
                         "thing4": "thing"},
    "tpl-shipped": {"character_string1": "character_string", "thing2": "thing",
                    "character_string3": "character_string", "time4": "time"},
    "tpl-refund-done": {"character_string1": "character_string", "amount2": "amount",
                        "time3": "time", "thing4": "thing"},
    "group-buy-result": {"thing1": "thing", "phrase2": "phrase"},
    "flash-sale-reminder": {"thing1": "thing", "time2": "time"},
    "tpl-live-starting": {"thing1": "thing", "time2": "time", "thing3": "thing"},
    "tpl-reactivation": {"thing1": "thing", "time2": "time", "thing3": "thing"},
}


@dataclass(frozen=True)
class Credentials:
    app_id: str
    app_secret: str
    mch_id: str
    mch_key: str

    @classmethod
    def from_env(cls, **overrides):
        defaults = cls(
            app_id=os.environ.get("WECHAT_APP_ID", "wx0000000000sandbox"),
            app_secret=os.environ.get("WECHAT_APP_SECRET", "sandbox-app-secret"),
            mch_id=os.environ.get("WECHAT_MCH_ID", "1900000109"),
            mch_key=os.environ.get("WECHAT_MCH_KEY", "sandboxsandboxsandboxsandbox0000"),
        )
        return cls(**{**defaults.__dict__, **overrides})


def default_port():
    return int(os.environ.get("WECHAT_SANDBOX_PORT", "8200"))


def default_tls_port():
    return int(os.environ.get("WECHAT_SANDBOX_TLS_PORT", "8201"))


def default_ca_dir():
    return os.environ.get("WECHAT_SANDBOX_CA_DIR") or None


def default_time_scale():
    return float(os.environ.get("WECHAT_SANDBOX_TIME_SCALE", "1.0"))
