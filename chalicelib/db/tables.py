"""Every table the app uses, from its PynamoDB models: the one place the key schemas live."""


def all_models():
    from chalicelib.catalog.models import (Category, Product, Sku, StockMovement, Store,
                                           StoreStock)
    from chalicelib.members import models as members
    from chalicelib.wechat.models import WeChatToken

    return [members.Member, members.WeChatIdentity, members.PhoneClaim, members.PointsEntry,
            members.AppliedChange, members.Staff, members.StaffInvite, members.TagMember,
            members.ActivityDay, members.BrandSetting, WeChatToken,
            Store, Category, Product, Sku, StoreStock, StockMovement]


def create_missing_tables():
    """Creates each table that does not exist yet; returns the names it created."""
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
    return created


def ping():
    """True when DynamoDB answers a cheap call on one of our tables."""
    from chalicelib.members.models import Member

    return Member.exists()
