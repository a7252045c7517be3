"""Every table the app uses, from its PynamoDB models: the one place the key schemas live."""


def all_models():
    from chalicelib.catalog.models import Category, Product, Sku, StockMovement, Store, StoreStock
    from chalicelib.coupons import models as coupons
    from chalicelib.db.settings import BrandSetting
    from chalicelib.mall.models import CartLine
    from chalicelib.orders import models as orders
    from chalicelib.orders.holds import PendingHold
    from chalicelib.db.outbox import Event
    from chalicelib.promotions.flash import models as flash
    from chalicelib.promotions.groups import models as groups
    from chalicelib.promotions.hotstock import StockShard
    from chalicelib.promotions.live import models as live
    from chalicelib.guides.models import BindingEvent, GuideSale, ShareLink
    from chalicelib.members import models as members
    from chalicelib.notify import models as notify
    from chalicelib.promotions.listings import PromotionListing
    from chalicelib.reactivation import models as reactivation
    from chalicelib.wechat.models import WeChatToken

    return [members.Member, members.WeChatIdentity, members.PhoneClaim, members.PointsEntry,
            members.AppliedChange, members.Staff, members.StaffInvite, members.TagMember,
            members.ActivityDay, BrandSetting, members.SessionFamily, WeChatToken,
            Store, Category, Product, Sku, StoreStock, StockMovement, ShareLink,
            BindingEvent, GuideSale, CartLine, coupons.Coupon,
            coupons.MemberCoupon, coupons.CouponClaims, orders.Order,
            orders.PickupCode, orders.Refund, PendingHold,
            flash.FlashSale, StockShard, flash.FlashPurchases, flash.FlashReminder,
            groups.GroupBuy, groups.Group, groups.GroupSeat,
            groups.GroupBuyPurchases, PromotionListing, live.LiveSession, live.LiveFigures,
            live.LiveMark, notify.SendCredit, notify.Notification,
            reactivation.Contact, reactivation.Task, reactivation.DayFigures, Event]


def _match_indexes(model):
    """Adds the global indexes a model declares that its existing table lacks, and removes
    those it no longer declares (a table made by an older version: an index whose projection
    changed has a new name). DynamoDB changes one index per UpdateTable call."""
    import time

    client = model._get_connection().connection.client
    table_name = model.Meta.table_name

    def described():
        return client.describe_table(TableName=table_name)["Table"]

    def settle():
        while (table := described())["TableStatus"] != "ACTIVE" or any(
                index["IndexStatus"] != "ACTIVE"
                for index in table.get("GlobalSecondaryIndexes", [])):
            time.sleep(0.2)

    present = {index["IndexName"] for index in described().get("GlobalSecondaryIndexes", [])}
    declared = {index["index_name"]: index
                for index in model._get_schema()["global_secondary_indexes"]}
    changed = []
    for name in sorted(present - set(declared)):
        client.update_table(TableName=table_name,
                            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
        settle()
        changed.append(f"{table_name}/-{name}")
    for name, index in declared.items():
        if name in present:
            continue
        client.update_table(
            TableName=table_name, AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": name, "KeySchema": index["key_schema"],
                "Projection": index["projection"]}}])
        settle()
        changed.append(f"{table_name}/{name}")
    return changed


def create_missing_tables():
    """Creates each missing table, and each missing index of an existing table; returns the
    names of what it created."""
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
        else:
            created += _match_indexes(model)
    return created


def ping():
    """True when DynamoDB answers a cheap call on one of our tables."""
    from chalicelib.members.models import Member

    return Member.exists()
