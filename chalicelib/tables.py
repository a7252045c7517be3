"""Every table the app uses, from its PynamoDB models: the one place the key schemas live."""

# The tables the analysts get a daily export of, as DynamoDB JSON lines: the orders, and the
# retail figures kept from them (on AWS DynamoDB's export to S3, infra/yutang_infra/exports.py;
# locally `python -m devtools.export`, in the same shape).
ANALYST_EXPORTS = ("orders", "figures")


def all_models():
    from chalicelib.catalog.models import Category, Product, Sku, StockMovement, Store, StoreStock
    from chalicelib.coupons import models as coupons
    from chalicelib.db.settings import BrandSetting
    from chalicelib.mall.models import CartLine
    from chalicelib.orders import models as orders
    from chalicelib.orders.holds import PendingHold
    from chalicelib.db.outbox import Event
    from chalicelib.figures import models as figures
    from chalicelib.promotions.flash import models as flash
    from chalicelib.promotions.groups import models as groups
    from chalicelib.promotions.hotstock import StockShard
    from chalicelib.promotions.live import models as live
    from chalicelib.guides.models import (BindingEvent, GuideMonth, GuideSale,
                                          NewBinding, ShareLink)
    from chalicelib.members import models as members
    from chalicelib.notify import models as notify
    from chalicelib.promotions.listings import PromotionListing
    from chalicelib.reactivation import models as reactivation
    from chalicelib.wechat.models import WeChatToken

    return [members.Member, members.WeChatIdentity, members.PhoneClaim, members.PointsEntry,
            members.AppliedChange, members.Staff, members.StaffInvite, members.TagMember,
            members.ActivityDay, BrandSetting, members.SessionFamily, WeChatToken,
            Store, Category, Product, Sku, StoreStock, StockMovement, ShareLink,
            BindingEvent, GuideSale, GuideMonth, NewBinding, CartLine, coupons.Coupon,
            coupons.MemberCoupon, coupons.CouponClaims, orders.Order,
            orders.PickupCode, orders.Refund, PendingHold, orders.StockTake,
            flash.FlashSale, StockShard, flash.FlashPurchases, flash.FlashReminder,
            groups.GroupBuy, groups.Group, groups.GroupSeat,
            groups.GroupBuyPurchases, PromotionListing, live.LiveSession, live.LiveFigures,
            live.LiveMark, notify.SendCredit, notify.Notification,
            reactivation.Contact, reactivation.Task, reactivation.DayFigures, Event,
            figures.Figure, figures.Activity, figures.Receipt]


def _wait_until_active(client, table_name):
    """Until the table and its indexes are ACTIVE (an index being added or removed is not)."""
    import time

    while (table := client.describe_table(TableName=table_name)["Table"])["TableStatus"] \
            != "ACTIVE" or any(index["IndexStatus"] != "ACTIVE"
                               for index in table.get("GlobalSecondaryIndexes", [])):
        time.sleep(0.2)


def _match_indexes(model, client, described):
    """Adds the global indexes a model declares that its existing table lacks, and removes
    those it no longer declares (a table made by an older version: an index whose projection
    changed has a new name). DynamoDB changes one index per UpdateTable call."""
    table_name = model.Meta.table_name
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    declared = {index["index_name"]: index
                for index in model._get_schema()["global_secondary_indexes"]}
    changed = []
    for name in sorted(present - set(declared)):
        client.update_table(TableName=table_name,
                            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
        _wait_until_active(client, table_name)
        changed.append(f"{table_name}/-{name}")
    for name, index in declared.items():
        if name in present:
            continue
        client.update_table(
            TableName=table_name, AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": name, "KeySchema": index["key_schema"],
                "Projection": index["projection"]}}])
        _wait_until_active(client, table_name)
        changed.append(f"{table_name}/{name}")
    return changed


def _enable_missing_stream(model, client, described):
    """Turns on the stream a model declares (Meta.stream_view_type) on its existing table, if
    the table has none (a table made before the model was streamed)."""
    view_type = getattr(model.Meta, "stream_view_type", None)
    if view_type is None:
        return []
    table_name = model.Meta.table_name
    present = described.get("StreamSpecification") or {}
    if present.get("StreamEnabled"):
        if present.get("StreamViewType") != view_type:
            raise RuntimeError(f"{table_name} streams {present.get('StreamViewType')}, its "
                               f"model wants {view_type}: turn its stream off first")
        return []
    client.update_table(TableName=table_name, StreamSpecification={
        "StreamEnabled": True, "StreamViewType": view_type})
    _wait_until_active(client, table_name)
    return [f"{table_name}/stream"]


def create_missing_tables():
    """Creates each missing table, and each missing index or stream of an existing table;
    returns the names of what it created."""
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
            continue
        client = model._get_connection().connection.client
        described = client.describe_table(TableName=model.Meta.table_name)["Table"]
        created += _match_indexes(model, client, described)
        created += _enable_missing_stream(model, client, described)
    return created


def ping():
    """True when DynamoDB answers a cheap call on one of our tables."""
    from chalicelib.members.models import Member

    return Member.exists()
