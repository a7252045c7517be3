"""Settings, read from the environment when asked for, never at import.

`chalice.test.Client` and `chalice local` set the environment around each call, so a value
read at import time would be stale. Secrets come from the environment locally; on AWS the
stage names a Secrets Manager secret (`<NAME>_SECRET_ID`) and it is fetched once per
container.
"""
import os
from functools import lru_cache


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def _flag(name, default=False):
    value = _env(name)
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes", "on")


@lru_cache(maxsize=None)
def _secret_from_secrets_manager(secret_id):
    from chalicelib import aws

    return aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


def secret(name):
    """A secret: `NAME` in the environment, else the Secrets Manager secret `NAME_SECRET_ID`."""
    value = _env(name)
    if value is not None:
        return value
    secret_id = _env(name + "_SECRET_ID")
    if secret_id is None:
        raise RuntimeError(f"secret {name} is not configured (set {name} or {name}_SECRET_ID)")
    return _secret_from_secrets_manager(secret_id)


class Settings:
    @property
    def stage(self):
        return _env("YUTANG_STAGE", "local")

    @property
    def brand_id(self):
        return _env("BRAND_ID", "demo")

    @property
    def table_prefix(self):
        return _env("TABLE_PREFIX", f"yutang-{self.stage}-")

    @property
    def dynamodb_host(self):
        """DynamoDB Local's address; unset on AWS, where the regional endpoint is used."""
        return _env("DYNAMODB_HOST")

    @property
    def aws_region(self):
        return _env("AWS_REGION", _env("AWS_DEFAULT_REGION", "cn-north-1"))

    @property
    def wechat_app_id(self):
        return _env("WECHAT_APP_ID", "wx0000000000sandbox")

    @property
    def wechat_app_secret(self):
        return secret("WECHAT_APP_SECRET")

    @property
    def wechat_mch_id(self):
        return _env("WECHAT_MCH_ID", "1900000109")

    @property
    def wechat_mch_key(self):
        return secret("WECHAT_MCH_KEY")

    @property
    def wechat_mch_cert(self):
        """The merchant's API certificate (apiclient_cert.pem, PEM): WeChat Pay refunds only
        over TLS with it (two-way TLS)."""
        return secret("WECHAT_MCH_CERT")

    @property
    def wechat_mch_cert_key(self):
        """The API certificate's private key (apiclient_key.pem, PEM)."""
        return secret("WECHAT_MCH_CERT_KEY")

    @property
    def wechat_pay_ca_bundle(self):
        """A CA file that WeChat Pay's server certificate must chain to, instead of the
        system's CAs: the sandbox's test CA locally; unset on AWS."""
        return _env("WECHAT_PAY_CA_BUNDLE")

    @property
    def wechat_api_base(self):
        return _env("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")

    @property
    def wechat_miniprogram_version(self):
        """The mini-program version that codes and subscribe messages open: release, trial or
        develop. Codes of the release are checked by WeChat to open a released page."""
        version = _env("WECHAT_MINIPROGRAM_VERSION", "release")
        if version not in ("release", "trial", "develop"):
            raise RuntimeError(f"WECHAT_MINIPROGRAM_VERSION is release, trial or develop, "
                               f"not {version!r}")
        return version

    @property
    def code_images_bucket(self):
        """The S3 bucket of mini-program code images (on AWS); unset, they are files under
        code_images_dir."""
        return _env("CODE_IMAGES_BUCKET")

    @property
    def code_images_dir(self):
        return _env("CODE_IMAGES_DIR", ".data/code-images")

    @property
    def wechat_pay_api_base(self):
        return _env("WECHAT_PAY_API_BASE", "https://api.mch.weixin.qq.com").rstrip("/")

    @property
    def token_secret(self):
        return secret("TOKEN_SECRET")

    @property
    def access_token_ttl_s(self):
        return int(_env("ACCESS_TOKEN_TTL_S", "7200"))

    @property
    def refresh_token_ttl_s(self):
        return int(_env("REFRESH_TOKEN_TTL_S", str(30 * 24 * 3600)))

    @property
    def guide_protection_days(self):
        """How long a guide keeps a shopper after last serving them."""
        return int(_env("GUIDE_PROTECTION_DAYS", "30"))

    @property
    def order_pay_minutes(self):
        """How long a shopper has to pay an order before it expires and releases its stock."""
        return int(_env("ORDER_PAY_MINUTES", "15"))

    @property
    def max_pending_orders_per_member(self):
        """Orders a member may have waiting for payment at once, across every channel."""
        return int(_env("MAX_PENDING_ORDERS_PER_MEMBER", "5"))

    @property
    def max_pending_units_per_sku(self):
        """Units of one SKU a member's unpaid orders may hold together."""
        return int(_env("MAX_PENDING_UNITS_PER_SKU", "20"))

    @property
    def flash_pay_minutes(self):
        """How long a flash-sale order waits for payment before its units go back."""
        return int(_env("FLASH_PAY_MINUTES", "5"))

    @property
    def flash_reminder_template_id(self):
        """The subscribe-message template of the flash-sale reminder (thing1: the sale,
        time2: when it starts)."""
        return self.template_id("flash_reminder", "flash-sale-reminder")

    @property
    def group_result_template_id(self):
        """The subscribe-message template telling a group's members how it ended (thing1:
        the campaign, phrase2: 拼团成功 or 拼团失败)."""
        return self.template_id("group_result", "group-buy-result")

    _LEGACY_TEMPLATE_ENV = {"flash_reminder": "FLASH_REMINDER_TEMPLATE_ID",
                            "group_result": "GROUP_RESULT_TEMPLATE_ID"}

    def template_id(self, event, default):
        """The subscribe-message template of a notify event: `TEMPLATE_<EVENT>` (for the
        flash-sale reminder and the group result, the older names still count)."""
        legacy = self._LEGACY_TEMPLATE_ENV.get(event)
        return _env(f"TEMPLATE_{event.upper()}", _env(legacy, default) if legacy else default)

    @property
    def notify_max_attempts(self):
        """How many times a subscribe message is tried while WeChat cannot be reached."""
        return int(_env("NOTIFY_MAX_ATTEMPTS", "5"))

    @property
    def refund_from_available_funds(self):
        """When the payments not yet settled to the merchant fall short of a refund (WeChat's
        NOTENOUGH), ask again at once to pay it from the merchant's available balance. Off: the
        refund waits for funds (the refunds job asks again) and ops are told."""
        return _flag("REFUND_FROM_AVAILABLE_FUNDS")

    @property
    def guide_commission_bp(self):
        """A guide's commission on an attributed order, in basis points of what was paid."""
        return int(_env("GUIDE_COMMISSION_BP", "300"))

    @property
    def live_commission_to(self):
        """Who earns the commission on a live order: "host" (the session's host guide) or
        "bound_guide" (the shopper's bound guide, as on any order)."""
        value = _env("LIVE_COMMISSION_TO", "host")
        return value if value in ("host", "bound_guide") else "host"

    @property
    def guide_second_tier_bp(self):
        """The commission of the guide who recruited the order's guide (there is no third)."""
        return int(_env("GUIDE_SECOND_TIER_BP", "100"))

    @property
    def return_window_days(self):
        """Days after payment before guides' commissions settle (refunds come within it)."""
        return int(_env("RETURN_WINDOW_DAYS", "7"))

    @property
    def member_import_max_rows(self):
        """Rows one member import upload may have (larger exports go through the import
        command): about what the 5 MB an upload may have holds of a usual export."""
        return int(_env("MEMBER_IMPORT_MAX_ROWS", "100000"))

    @property
    def public_api_url(self):
        """Where WeChat reaches this API (payment and refund notifies)."""
        return _env("PUBLIC_API_URL", "http://127.0.0.1:8000").rstrip("/")

    @property
    def brand_name(self):
        return _env("BRAND_NAME", "鱼塘")

    @property
    def tracing(self):
        """X-Ray is on in Lambda, and locally only when a daemon address is given."""
        in_lambda = _env("AWS_LAMBDA_FUNCTION_NAME") is not None
        default = in_lambda or _env("AWS_XRAY_DAEMON_ADDRESS") is not None
        return _flag("YUTANG_TRACING", default)


settings = Settings()
