"""Coupons and the coupons members hold. Money in fen."""
from pynamodb.attributes import (JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta


class CouponsByScope(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-scope"
        projection = AllProjection()

    scope = UnicodeAttribute(hash_key=True)  # "brand", or the store's id
    valid_until_key = UnicodeAttribute(range_key=True)  # <valid until>#<coupon id>


class Coupon(Model):
    """What ops issue: a brand coupon (no store) or one store's, with its terms and window.
    A public coupon is listed and claimable; a granted one is only given (by reactivation,
    campaigns, admins), and stays out of the listing index."""

    class Meta(TableMeta):
        table = "coupons"

    coupon_id = UnicodeAttribute(hash_key=True)
    visibility = UnicodeAttribute(default="public")  # public | granted
    scope = UnicodeAttribute(null=True)  # the listing index's keys: public coupons only
    valid_until_key = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute()  # fixed | percent
    amount_fen = NumberAttribute(null=True)  # fixed: the discount
    percent_off = NumberAttribute(null=True)  # percent: the discount, capped at cap_fen
    cap_fen = NumberAttribute(null=True)
    threshold_fen = NumberAttribute(default=0)  # the goods must come to at least this
    store_id = UnicodeAttribute(null=True)
    channels = ListAttribute(of=UnicodeAttribute, default=lambda: ["mall"])
    valid_from = UTCDateTimeAttribute()
    valid_until = UTCDateTimeAttribute()
    per_member_limit = NumberAttribute(default=1)
    total = NumberAttribute()
    claimed = NumberAttribute(default=0)
    by_scope = CouponsByScope()


class MemberCoupon(Model):
    """A coupon a member claimed: the terms as they were when claimed, and whether an order
    has it. Using it is one conditional write inside the order's transaction."""

    class Meta(TableMeta):
        table = "member-coupons"

    member_id = UnicodeAttribute(hash_key=True)
    member_coupon_id = UnicodeAttribute(range_key=True)
    coupon_id = UnicodeAttribute()
    terms = JSONAttribute()
    status = UnicodeAttribute(default="available")  # available | used
    order_id = UnicodeAttribute(null=True)
    claimed_at = UTCDateTimeAttribute()


class CouponClaims(Model):
    """How many of one coupon one member has claimed, for the per-member limit."""

    class Meta(TableMeta):
        table = "coupon-claims"

    key = UnicodeAttribute(hash_key=True)  # <coupon_id>#<member_id>
    count = NumberAttribute(default=0)
