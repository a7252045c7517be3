"""Orders, their refunds and pickup codes. Money in fen."""
from pynamodb.attributes import (BooleanAttribute, JSONAttribute, NumberAttribute,
                                 TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.db.attributes import CompactJSONAttribute, CountAttribute
from chalicelib.db.base import Model, TableMeta

CHANNELS = ("mall", "flash_sale", "group_buy", "live")
PENDING_PAYMENT, PAID, CLOSED = "PENDING_PAYMENT", "PAID", "CLOSED"
SHIPPED, COMPLETED, REFUNDED = "SHIPPED", "COMPLETED", "REFUNDED"


# The order's indexes hold its keys only: an order written (placed, paid, refunded) rewrites
# none of them unless their own keys change, and each entry costs one write unit. Lists read
# the orders themselves after (one BatchGet a page).

class OrdersByMember(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-orders"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class OrdersByStoreDay(GlobalSecondaryIndex):
    """A store's orders of a day, written in STORE_DAY_SHARDS partitions (orders/placing.py
    store_day): one store's flash sale would otherwise put every order on one partition of
    the index, whose writes DynamoDB takes at about 1,000 a second."""

    class Meta:
        index_name = "store-day-orders"
        projection = KeysOnlyProjection()

    store_day = UnicodeAttribute(hash_key=True)  # <store_id>#<YYYY-MM-DD, Shanghai>#<shard>
    created_key = UnicodeAttribute(range_key=True)


class PendingByMinute(GlobalSecondaryIndex):
    """Sparse: the orders WeChat may still take money for, by the minute the minute job next
    acts on them (unpaid orders: the minute their payment window closes; orders closed while
    WeChat could not close its own yet: the minute to ask it again), so the expiry and
    reconciliation jobs read only the minutes they act on."""

    class Meta:
        index_name = "pending-minute"
        projection = KeysOnlyProjection()

    pending_minute = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH:MM (UTC)#<shard>
    order_id = UnicodeAttribute(range_key=True)


class Order(Model):
    class Meta(TableMeta):
        table = "orders"
        # Its changes are the order_paid event (orders/events.py): the item before and after.
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    order_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    openid = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    fulfilment = UnicodeAttribute()  # pickup | delivery | cloud_shelf
    stock_from = UnicodeAttribute()  # the store, or the central warehouse
    status = UnicodeAttribute()
    breakdown = CompactJSONAttribute()  # the pricing engine's answer, line by line
    total_fen = NumberAttribute()
    points_used = CountAttribute()
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
    member_order_number = NumberAttribute(null=True)  # 1: the member's first paid order
    member_first_paid_at = UTCDateTimeAttribute(null=True)  # when that was: their cohort
    points_entry = CompactJSONAttribute(null=True)  # the ledger entry of points_earned
    commissions = JSONAttribute(null=True)  # [{"guide_id", "tier"}], once paid
    pickup_code = UnicodeAttribute(null=True)
    shipped_at = UTCDateTimeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)
    completed_by = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    close_reason = UnicodeAttribute(null=True)
    delivery = JSONAttribute(null=True)  # {"carrier", "tracking_no"} once shipped
    refund_count = CountAttribute()  # refunds asked for, failed ones included
    refunded_quantities = JSONAttribute(null=True)  # {sku_id: units} claimed by refunds
    refunded_fen = CountAttribute()
    # Goods refunds claimed and not settled (REQUESTED, PROCESSING, CHANGE): while any is,
    # the goods are not handed over (redeem and ship are conditioned on 0).
    refunds_in_flight = CountAttribute()
    refunded_goods_fen = CountAttribute()  # the goods of refunds that succeeded
    # Refunds of goods that succeeded: how many, the money they gave back (a delivery fee
    # too) and when the last did; the orders stream shows each (orders/events.py).
    refunds_settled = CountAttribute()
    refund_settled_fen = CountAttribute()
    refund_settled_at = UTCDateTimeAttribute(null=True)
    flash_sale_id = UnicodeAttribute(null=True)
    hot_takes = JSONAttribute(null=True)  # {shard: units}: where its hot stock came from
    group_id = UnicodeAttribute(null=True)
    group_buy_id = UnicodeAttribute(null=True)  # the group's campaign
    awaiting_group = BooleanAttribute(null=True)  # paid, but its group has not completed
    live_session_id = UnicodeAttribute(null=True)
    take_attempt = UnicodeAttribute(null=True)  # the placing attempt whose takes it holds
    request_hash = UnicodeAttribute(null=True)  # of the request its Idempotency-Key placed
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


def orders_by_id(order_ids):
    """{order id: order} of those that exist, read consistently (BatchGet)."""
    return {order.order_id: order for order in
            Order.batch_get(list(order_ids), consistent_read=True)}


class SuspectsByMinute(GlobalSecondaryIndex):
    """Sparse: only suspects carry suspect_minute (the minute the stream found them)."""

    class Meta:
        index_name = "suspect-minute"
        projection = AllProjection()

    suspect_minute = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH:MM, UTC
    take_id = UnicodeAttribute(range_key=True)


class StockTake(Model):
    """A take of stock that no order claimed when the stream saw it (a suspect), or one
    given back (orders/takes.py)."""

    class Meta(TableMeta):
        table = "stock-takes"

    take_id = UnicodeAttribute(hash_key=True)  # <tag>@<table>/<key as JSON>
    state = UnicodeAttribute()  # suspect | given | claimed
    table = UnicodeAttribute()
    key = UnicodeAttribute()  # the counter item's key values, as a JSON list
    units = NumberAttribute()
    found_at = UnicodeAttribute(null=True)
    suspect_minute = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    by_suspect_minute = SuspectsByMinute()
