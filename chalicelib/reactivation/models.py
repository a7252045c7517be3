"""Contacts, guides' tasks and the report's counters."""
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.db.base import Model, TableMeta


class Contact(Model):
    """One reactivation contact of a member on one day (Asia/Shanghai). Written with a
    conditional put, so however often the job runs on a day it contacts a member once; the
    member's latest contact (one Query) answers the cooldown and a paid order's question
    "did this follow a contact?"."""

    class Meta(TableMeta):
        table = "reactivation-contacts"

    member_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # YYYY-MM-DD, Asia/Shanghai: the contact's day
    channel = UnicodeAttribute()  # message | guide
    store_id = UnicodeAttribute(null=True)
    guide_id = UnicodeAttribute(null=True)
    member_coupon_id = UnicodeAttribute(null=True)
    notification_id = UnicodeAttribute(null=True)
    task_id = UnicodeAttribute(null=True)
    contacted_at = UTCDateTimeAttribute()
    counts_until = UTCDateTimeAttribute()  # an order paid before this is a reactivation
    reactivated_order_id = UnicodeAttribute(null=True)
    reactivated_at = UTCDateTimeAttribute(null=True)
    gmv_fen = NumberAttribute(null=True)
    coupon_order_id = UnicodeAttribute(null=True)  # the paid order that used the coupon


class Task(Model):
    """A member for a person to contact: on a guide's list (owner guide#<id>) or, for members
    with no guide, their store's (owner store#<id>). Newest first by task id."""

    class Meta(TableMeta):
        table = "staff-tasks"

    owner = UnicodeAttribute(hash_key=True)  # guide#<guide_id> | store#<store_id>
    task_id = UnicodeAttribute(range_key=True)  # sortable by creation
    kind = UnicodeAttribute(default="reactivation")
    member_id = UnicodeAttribute()
    member_name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute(null=True)
    guide_id = UnicodeAttribute(null=True)
    member_coupon_id = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | done
    created_at = UTCDateTimeAttribute()
    done_at = UTCDateTimeAttribute(null=True)
    done_by = UnicodeAttribute(null=True)


class DayFigures(Model):
    """The report's counters for one day and one scope ("brand", "store#<id>",
    "guide#<id>"), each moved by atomic ADDs; a report reads one partition per day. Contacts
    and their results count on the contact's day; dormant members on the day they were
    found. The day's send cap counts on the scope "cap"."""

    class Meta(TableMeta):
        table = "reactivation-figures"

    day = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)
    dormant = NumberAttribute(default=0)
    messaged = NumberAttribute(default=0)
    guided = NumberAttribute(default=0)
    coupons_used = NumberAttribute(default=0)
    reactivated = NumberAttribute(default=0)
    gmv_fen = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)  # scope "cap": contacts made that day
