"""The brand's reactivation settings: one brand-settings document, defaults until configured
(off until ops turn it on)."""

from chalicelib.core.clock import clock as system_clock
from chalicelib.db import settings
from chalicelib.errors import DomainError

KEY = "reactivation"
DEFAULTS = {"enabled": False, "dormant_days": 90, "coupon_id": None, "cooldown_days": 60,
            "daily_cap": 2000, "reactivated_within_days": 14}


def current():
    return {**DEFAULTS, **settings.read(KEY, default={})}


def replace(config, admin_id, clock=system_clock):
    if config.get("coupon_id"):
        from chalicelib.coupons.wallet import GRANTED, visibility_of

        if visibility_of(config["coupon_id"]) != GRANTED:
            raise DomainError("validation_error", "The come-back coupon must be a granted one "
                                                  "(visibility granted): a public coupon is "
                                                  "listed, and anyone may claim it.")
    settings.write(KEY, config, clock.now(), by=admin_id)
    return current()
