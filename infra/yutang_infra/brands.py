"""A brand's configuration: `infra/brands/<brand>.json`, checked when loaded.

Every name the stack makes for a brand starts with the brand's id (tables `yutang-<brand>-*`,
functions `yutang-<brand>-*`, secrets `yutang/<brand>/*`), which is what keeps two brands'
stacks apart even in one AWS account.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

BRANDS_DIR = Path(__file__).resolve().parent.parent / "brands"

_BRAND_ID = re.compile(r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                   2192, 2557, 2922, 3288, 3653)
_REQUIRED = ("brand", "region", "wechat_app_id", "wechat_mch_id", "secrets", "domain",
             "alarm_email")
_OPTIONAL = ("account", "brand_name", "certificate_arn", "log_retention_days",
             "throttle_rate_per_s", "throttle_burst", "waf_ip_requests_per_5min",
             "manage_api_gateway_log_role", "export_retention_days", "_comment")

# The API stage's throttle, for every route together. A flash sale is sized for 2,000 orders a
# second (README, "Flash sales"); around each order a shopper also reads the sale, pays and
# reads the order, so the steady rate is twice the order peak, and the burst is the account's
# default regional burst (5,000), one second of a stampede at the start of a sale. Requests
# above it answer 429 `too_many_requests` before any Lambda runs.
THROTTLE_RATE_PER_S = 4000
THROTTLE_BURST = 5000
# The WAF's per-IP limit, in requests per 5 minutes (WAF's window). Blocking an IP blocks
# everyone behind it, and in China many shoppers share one carrier-NAT or campus address: 300
# shoppers of one address, each making 30 requests in a sale's five minutes, fit (9,000). A
# scraper or a flood from one machine runs far faster than 33 requests a second, and a burst
# is spread over the window where a scraper's steady rate is not.
WAF_IP_REQUESTS_PER_5MIN = 10_000
_WAF_LIMITS = (100, 2_000_000_000)   # what WAF accepts for a rate-based rule
# How long the analysts' daily exports of the orders and figures are kept (each is the whole
# table on its day): a year and a month, so that a day can be set beside the same day of last
# year. An export older than this is deleted by the bucket's lifecycle.
EXPORT_RETENTION_DAYS = 400
_EXPORT_RETENTION_LIMITS = (1, 3653)


class BrandError(ValueError):
    pass


@dataclass(frozen=True)
class Brand:
    id: str
    region: str
    wechat_app_id: str
    wechat_mch_id: str
    secrets: dict = field(hash=False)
    domain: str
    alarm_email: str
    account: Optional[str] = None
    brand_name: Optional[str] = None
    certificate_arn: Optional[str] = None
    log_retention_days: int = 90
    throttle_rate_per_s: int = THROTTLE_RATE_PER_S
    throttle_burst: int = THROTTLE_BURST
    waf_ip_requests_per_5min: int = WAF_IP_REQUESTS_PER_5MIN
    # API Gateway writes access logs through one role per account and region (its account
    # setting); false when something else in the account sets it.
    manage_api_gateway_log_role: bool = True
    export_retention_days: int = EXPORT_RETENTION_DAYS

    @property
    def stack_name(self):
        return f"Yutang-{self.id}"

    @property
    def table_prefix(self):
        return f"yutang-{self.id}-"

    @property
    def secret_prefix(self):
        return f"yutang/{self.id}/"

    @property
    def public_api_url(self):
        return f"https://{self.domain}"

    def function_name(self, name):
        return f"yutang-{self.id}-{name}"


def brand_ids():
    return sorted(path.stem for path in BRANDS_DIR.glob("*.json"))


def load(brand_id, brands_dir=BRANDS_DIR):
    path = Path(brands_dir) / f"{brand_id}.json"
    if not path.is_file():
        raise BrandError(f"no brand config {path} (brands: {', '.join(brand_ids()) or 'none'})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise BrandError(f"{path}: not JSON: {error}") from None
    return parse(raw, expected_id=brand_id, source=str(path))


def parse(raw, expected_id=None, source="brand config"):
    def fail(message):
        raise BrandError(f"{source}: {message}")

    if not isinstance(raw, dict):
        fail("must be a JSON object")
    missing = [key for key in _REQUIRED if raw.get(key) in (None, "")]
    if missing:
        fail(f"missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        fail(f"unknown keys {', '.join(unknown)}")
    brand_id = raw["brand"]
    if not isinstance(brand_id, str) or not _BRAND_ID.match(brand_id):
        fail("brand must be 3-22 characters: lower-case letters, digits and dashes, "
             "starting with a letter")
    if expected_id is not None and brand_id != expected_id:
        fail(f"brand is {brand_id!r} but the file is named for {expected_id!r}")
    if not _REGION.match(str(raw["region"])):
        fail(f"region {raw['region']!r} is not an AWS region name")
    account = raw.get("account")
    if account is not None and not _ACCOUNT.match(str(account)):
        fail("account must be a 12-digit AWS account id (or null: the deploying credentials' "
             "account)")
    if not _DOMAIN.match(str(raw["domain"])):
        fail(f"domain {raw['domain']!r} is not a host name (no scheme, no path)")
    if not _EMAIL.match(str(raw["alarm_email"])):
        fail(f"alarm_email {raw['alarm_email']!r} is not an e-mail address")
    secrets = raw["secrets"]
    if not isinstance(secrets, dict) or not secrets:
        fail("secrets must map each secret (wechat_app_secret, …) to a Secrets Manager name")
    prefix = f"yutang/{brand_id}/"
    for key, name in secrets.items():
        if not re.match(r"^[a-z][a-z0-9_]*$", key):
            fail(f"secret key {key!r}: lower-case letters, digits and underscores")
        # The role may read only secrets under the brand's own prefix: a name outside it
        # could be another brand's.
        if not isinstance(name, str) or not name.startswith(prefix) or \
                not re.match(r"^[A-Za-z0-9/_+=.@-]{1,512}$", name):
            fail(f"secret {key}: the name must start with {prefix!r} (got {name!r})")
    retention = raw.get("log_retention_days", 90)
    if retention not in _RETENTION_DAYS:
        fail(f"log_retention_days must be one of {_RETENTION_DAYS}")
    limits = {}
    for key, default, (low, high) in (
            ("throttle_rate_per_s", THROTTLE_RATE_PER_S, (1, 1_000_000)),
            ("throttle_burst", THROTTLE_BURST, (1, 1_000_000)),
            ("waf_ip_requests_per_5min", WAF_IP_REQUESTS_PER_5MIN, _WAF_LIMITS),
            ("export_retention_days", EXPORT_RETENTION_DAYS, _EXPORT_RETENTION_LIMITS)):
        value = raw.get(key, default)
        if type(value) is not int or not low <= value <= high:
            fail(f"{key} must be a whole number from {low:,} to {high:,} (got {value!r})")
        limits[key] = value
    manage_log_role = raw.get("manage_api_gateway_log_role", True)
    if not isinstance(manage_log_role, bool):
        fail("manage_api_gateway_log_role must be true or false")
    certificate_arn = raw.get("certificate_arn")
    if certificate_arn is not None and not re.match(r"^arn:aws[a-z-]*:acm:", certificate_arn):
        fail("certificate_arn must be an ACM certificate ARN")
    return Brand(id=brand_id, region=raw["region"], wechat_app_id=str(raw["wechat_app_id"]),
                 wechat_mch_id=str(raw["wechat_mch_id"]), secrets=dict(secrets),
                 domain=raw["domain"], alarm_email=raw["alarm_email"],
                 account=None if account is None else str(account),
                 brand_name=raw.get("brand_name"), certificate_arn=certificate_arn,
                 log_retention_days=retention, manage_api_gateway_log_role=manage_log_role,
                 **limits)
