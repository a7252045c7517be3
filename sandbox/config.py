"""The sandbox's credentials and settings, from the environment with local defaults."""
import os
from dataclasses import dataclass


# The pages of the released mini-program (its app.json) until POST /__sandbox__/miniprogram/release
# releases another version.
RELEASED_PAGES = (
    "pages/index/index", "pages/store/index", "pages/product/index", "pages/order/detail",
    "pages/group/index", "pages/flash/index", "pages/live/room", "pages/coupons/index",
)


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
