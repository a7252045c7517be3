"""The brand's reactivation settings: one BrandSetting document, defaults until configured
(off until ops turn it on)."""
import json

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.db.settings import BrandSetting

KEY = "reactivation"
DEFAULTS = {"enabled": False, "dormant_days": 90, "coupon_id": None, "cooldown_days": 60,
            "daily_cap": 2000, "reactivated_within_days": 14}


def current():
    try:
        return {**DEFAULTS, **json.loads(BrandSetting.get(KEY).document)}
    except DoesNotExist:
        return dict(DEFAULTS)


def replace(config, admin_id, clock=system_clock):
    if config.get("coupon_id"):
        from chalicelib.coupons.wallet import GRANTED, visibility_of

        if visibility_of(config["coupon_id"]) != GRANTED:
            raise DomainError("validation_error", "The come-back coupon must be a granted one "
                                                  "(visibility granted): a public coupon is "
                                                  "listed, and anyone may claim it.")
    BrandSetting(KEY, document=json.dumps(config), updated_at=clock.now(),
                 updated_by=admin_id).save()
    return current()
