"""Carts, coupons, orders and the keys that make placing an order idempotent. Money in fen."""
from pynamodb.attributes import (BooleanAttribute, JSONAttribute, NumberAttribute,
                                 TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta

CHANNELS = ("mall", "flash_sale", "group_buy", "live")


class OrdersByMember(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByStoreDay(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-store-day"
        projection = AllProjection()

    store_day = UnicodeAttribute(hash_key=True)  # <store_id>#<YYYY-MM-DD, Asia/Shanghai>
    created_key = UnicodeAttribute(range_key=True)


class PendingByMinute(GlobalSecondaryIndex):
    """Sparse: the orders WeChat may still take money for, by the minute the minute job next
    acts on them (unpaid orders: the minute their payment window closes; orders closed while
    WeChat could not close its own yet: the minute to ask it again), so the expiry and
    reconciliation jobs read only the minutes they act on."""

    class Meta:
        index_name = "pending-by-minute"
        projection = AllProjection()

    pending_minute = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH:MM, UTC
    order_id = UnicodeAttribute(range_key=True)


class Order(Model):
    class Meta(TableMeta):
        table = "orders"

    order_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    openid = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    fulfilment = UnicodeAttribute()  # pickup | delivery | cloud_shelf
    stock_from = UnicodeAttribute()  # the store, or the central warehouse
    status = UnicodeAttribute()
    breakdown = JSONAttribute()  # the pricing engine's answer, line by line
    total_fen = NumberAttribute()
    points_used = NumberAttribute(default=0)
    member_coupon_id = UnicodeAttribute(null=True)
    guide_id = UnicodeAttribute(null=True)
    address = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_key = UnicodeAttribute()  # <created at>#<order id>, for lists newest first
    store_day = UnicodeAttribute()
    pay_by = UTCDateTimeAttribute()
    pending_minute = UnicodeAttribute(null=True)
    out_trade_no = UnicodeAttribute(null=True)
    prepay_id = UnicodeAttribute(null=True)
    prepay_expires_at = UTCDateTimeAttribute(null=True)  # WeChat's prepay id lives 2 hours
    wechat_expires_at = UTCDateTimeAttribute(null=True)  # the time_expire of WeChat's order
    paid_at = UTCDateTimeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    points_earned = NumberAttribute(null=True)
    growth_earned = NumberAttribute(null=True)
    commissions = JSONAttribute(null=True)  # [{"guide_id", "tier"}], once paid
    pickup_code = UnicodeAttribute(null=True)
    shipped_at = UTCDateTimeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)
    completed_by = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    delivery = JSONAttribute(null=True)  # {"carrier", "tracking_no"} once shipped
    refund_count = NumberAttribute(default=0)  # refunds asked for, failed ones included
    refunded_quantities = JSONAttribute(null=True)  # {sku_id: units} claimed by refunds
    refunded_fen = NumberAttribute(default=0)
    # Goods refunds claimed and not settled (REQUESTED, PROCESSING, CHANGE): while any is,
    # the goods are not handed over (redeem and ship are conditioned on 0).
    refunds_in_flight = NumberAttribute(default=0)
    refunded_goods_fen = NumberAttribute(default=0)  # the goods of refunds that succeeded
    flash_sale_id = UnicodeAttribute(null=True)
    hot_takes = JSONAttribute(null=True)  # {shard: units}: where its hot stock came from
    group_id = UnicodeAttribute(null=True)
    awaiting_group = BooleanAttribute(null=True)  # paid, but its group has not completed
    live_session_id = UnicodeAttribute(null=True)
    held = BooleanAttribute(null=True)  # counted on the member's holds while unpaid (holds.py)
    by_member = OrdersByMember()
    by_store_day = OrdersByStoreDay()
    pending_by_minute = PendingByMinute()


class OpenRefunds(GlobalSecondaryIndex):
    """Sparse: refunds WeChat has not finished, by the day (UTC) they were asked for or last
    asked about, for the job that asks WeChat how they stand: each check moves a refund still
    open to that day, so the job reads only the days since its last run."""

    class Meta:
        index_name = "open-by-day"
        projection = AllProjection()

    open_day = UnicodeAttribute(hash_key=True)
    refund_id = UnicodeAttribute(range_key=True)


class Refund(Model):
    """Money going back for an order: some units of its lines, all of it, or a payment that
    arrived after the order had closed. refund_id is WeChat's out_refund_no."""

    class Meta(TableMeta):
        table = "refunds"

    order_id = UnicodeAttribute(hash_key=True)
    refund_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # goods | late_payment
    # REQUESTED → PROCESSING → SUCCESS | FAILED, or CHANGE (WeChat could not pay it out: the
    # units stay claimed until staff record it settled by hand or released).
    status = UnicodeAttribute()
    lines = JSONAttribute(default=list)  # [{"sku_id", "quantity", "refund_fen"}]
    refund_fen = NumberAttribute()
    delivery_fee_fen = NumberAttribute(default=0)
    points = NumberAttribute(default=0)  # points the order used that come back
    completes = NumberAttribute(default=0)  # 1: the order's last units
    reason = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute()
    requested_at = UTCDateTimeAttribute()
    wechat_status = UnicodeAttribute(null=True)
    settled_at = UTCDateTimeAttribute(null=True)
    in_flight_counted = BooleanAttribute(null=True)  # in the order's refunds_in_flight
    refunded_goods_before = NumberAttribute(null=True)  # the order's, when this one succeeded
    # Goods already handed over come back before they are stock again: awaited → returned.
    goods_return = UnicodeAttribute(null=True)
    returned_at = UTCDateTimeAttribute(null=True)
    returned_by = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)  # who settled or released a CHANGE refund
    open_day = UnicodeAttribute(null=True)
    open_refunds = OpenRefunds()


class PickupCode(Model):
    """A paid pickup order's code at its store, until staff hand the goods over."""

    class Meta(TableMeta):
        table = "pickup-codes"

    store_code = UnicodeAttribute(hash_key=True)  # <store_id>#<code>
    order_id = UnicodeAttribute()


class IdempotencyKey(Model):
    """The order an Idempotency-Key made, and a hash of the request that made it. Kept 48
    hours: longer than WeChat's 24 hours 4 minutes of notify retries, and than any client's."""

    class Meta(TableMeta):
        table = "idempotency-keys"

    key = UnicodeAttribute(hash_key=True)  # <member_id>#<Idempotency-Key>
    request_hash = UnicodeAttribute()
    order_id = UnicodeAttribute()
    expires_at = TTLAttribute()
