"""Live commerce (直播): sessions with their lineup (live-only quantities are hot stock, see
hotstock.py), one figures item per session, and the marks that make its counters count each
viewer, buyer and paid order once."""
from pynamodb.attributes import (JSONAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UnicodeAttribute, UTCDateTimeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.db.base import Model, TableMeta

SCHEDULED, LIVE, ENDED = "SCHEDULED", "LIVE", "ENDED"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class SessionsByNextStep(GlobalSecondaryIndex):
    """Sparse: sessions with a step due for the minute job (going live at the scheduled
    start, ending at the scheduled end), by the day (UTC) it is due."""

    class Meta:
        index_name = "by-next-step"
        projection = AllProjection()

    next_step_day = UnicodeAttribute(hash_key=True)  # YYYY-MM-DD
    next_step_key = UnicodeAttribute(range_key=True)  # <due, UTC text>#<session id>


class SessionsByHost(GlobalSecondaryIndex):
    """A host guide's sessions, by scheduled start."""

    class Meta:
        index_name = "by-host"
        projection = AllProjection()

    host_id = UnicodeAttribute(hash_key=True)
    starts_key = UnicodeAttribute(range_key=True)  # <starts at, UTC text>#<session id>


class LiveSession(Model):
    class Meta(TableMeta):
        table = "live-sessions"

    session_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    host_id = UnicodeAttribute()  # a guide (staff member)
    host_name = UnicodeAttribute(null=True)
    stores = ListAttribute(of=UnicodeAttribute)
    stock_from = UnicodeAttribute()  # the one store's stock, or the central warehouse
    room = JSONAttribute()  # {"kind": "miniprogram_live" | "channels", "id"}
    lineup = JSONAttribute()  # [{"sku_id", "product_id", "name", "live_price_fen", "quantity"}]
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    starts_key = UnicodeAttribute()
    status = UnicodeAttribute(default=SCHEDULED)  # SCHEDULED → LIVE → ENDED
    # A guide's session: pending → approved | rejected, by the store's manager or an admin;
    # an admin's is approved when made (none: made before approvals, when all went live).
    approval = UnicodeAttribute(null=True)
    approval_by = UnicodeAttribute(null=True)
    approval_at = UTCDateTimeAttribute(null=True)
    shard_count = NumberAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    stocked = JSONAttribute(null=True)  # {sku_id: units moved in}, once LIVE
    returned = JSONAttribute(null=True)  # {sku_id: units given back}, once ENDED
    pinned_sku_id = UnicodeAttribute(null=True)  # the product being presented (讲解中)
    pinned_at = UTCDateTimeAttribute(null=True)
    next_step_day = UnicodeAttribute(null=True)
    next_step_key = UnicodeAttribute(null=True)
    by_next_step = SessionsByNextStep()
    by_host = SessionsByHost()


class LiveFigures(Model):
    """A session's counters, each paid order counted once (see figures.py)."""

    class Meta(TableMeta):
        table = "live-figures"

    session_id = UnicodeAttribute(hash_key=True)
    viewers = NumberAttribute(default=0)  # distinct members who entered
    orders = NumberAttribute(default=0)  # paid orders
    buyers = NumberAttribute(default=0)  # distinct members with a paid order
    gmv_fen = NumberAttribute(default=0)  # what the paid orders came to
    units = MapAttribute(default=dict)  # {sku_id: units in paid orders}


class LiveMark(Model):
    """That something was counted once in a session: "viewer#<member>", "buyer#<member>",
    "order#<order id>"."""

    class Meta(TableMeta):
        table = "live-marks"

    session_id = UnicodeAttribute(hash_key=True)
    mark = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
