"""The events table: an event whose subscribers have not all run (db/events.py writes and
delivers them). Apart from db/events.py so that installing the subscribers (at import of the
app) loads no PynamoDB."""
from pynamodb.attributes import (JSONAttribute, NumberAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.db.base import Model, TableMeta


class EventsDue(GlobalSecondaryIndex):
    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)  # "0" … "3"
    due_key = UnicodeAttribute(range_key=True)  # <due minute, UTC>#<event key>


class Event(Model):
    """An event whose subscribers have not all run. Deleted when they have."""

    class Meta(TableMeta):
        table = "events"

    key = UnicodeAttribute(hash_key=True)  # <kind>#<subject's values>
    kind = UnicodeAttribute()
    subject = JSONAttribute()  # the ids the subscribers need
    done = UnicodeSetAttribute(null=True)  # subscribers that have run
    attempts = NumberAttribute(default=0)  # deliveries that left some subscriber failed
    created_at = UTCDateTimeAttribute()
    due_shard = UnicodeAttribute()
    due_key = UnicodeAttribute()
    last_error = UnicodeAttribute(null=True)
    due = EventsDue()
