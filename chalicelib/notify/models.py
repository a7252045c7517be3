"""Send credits (one per acceptance of a template, WeChat's one-time subscription rule) and
the notifications themselves."""
from pynamodb.attributes import (JSONAttribute, NumberAttribute, UnicodeAttribute,
                                 UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta


class SendCredit(Model):
    """How many messages of one template the member may still be sent."""

    class Meta(TableMeta):
        table = "send-credits"

    member_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    credits = NumberAttribute(default=0)
    accepted = NumberAttribute(default=0)  # acceptances ever reported
    last_accepted_at = UTCDateTimeAttribute(null=True)


class NotificationsDue(GlobalSecondaryIndex):
    """Sparse: only queued notifications carry due_minute, so the job reads what it sends."""

    class Meta:
        index_name = "by-due-minute"
        projection = AllProjection()

    due_minute = UnicodeAttribute(hash_key=True)  # YYYY-MM-DDTHH:MM (UTC)#<shard>
    due_key = UnicodeAttribute(range_key=True)  # <due, UTC text>#<notification id>


class NotificationsByMember(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)  # <created, UTC text>#<notification id>


class Notification(Model):
    class Meta(TableMeta):
        table = "notifications"

    notification_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    event = UnicodeAttribute()
    template_id = UnicodeAttribute()
    page = UnicodeAttribute()
    data = JSONAttribute()  # the template's data, as WeChat takes it
    reason = UnicodeAttribute()  # why it was sent, for staff
    # queued → sending → sent | refused | failed; queued → no_credit | unreachable
    status = UnicodeAttribute()
    errcode = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    created_key = UnicodeAttribute()
    due_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    unanswered_at = UTCDateTimeAttribute(null=True)  # a try WeChat heard and never answered
    due_minute = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    by_due_minute = NotificationsDue()
    by_member = NotificationsByMember()
