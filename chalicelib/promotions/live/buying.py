"""Buying in a live session: POST /live-sessions/{id}/orders, placed by the kernel
(orders/placing.py) through the live channel.

Live prices hold only while the session is LIVE (by its status, and never at or after its
scheduled end) and only for a viewer who entered it: the request carries the live token of
this member for this session. The channel's takes: units from the session's shards, each on
condition it has them, outside any transaction (orders/takes.py; as flash sales take theirs,
sold out is decided by reads, without writes), and the order is one conditional put. The order carries the session and its
host: the host earns the commission, unless LIVE_COMMISSION_TO is "bound_guide" (then the
shopper's bound guide does, as on any order).
"""
from chalicelib.promotions import listings as promotions
from chalicelib.promotions.channel import HotStockChannel, Takes, hot_takes, takes_from
from chalicelib.orders import placing
from chalicelib.orders.channels import Quote
from chalicelib.config import settings
from chalicelib.core.clock import FixedClock
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.promotions.live import sessions
from chalicelib.promotions.live.models import LIVE, SCHEDULED

TOKEN = "live_token"


def _live_session(session_id, now):
    session = sessions.get(session_id, consistent=False)
    if session.status == SCHEDULED:
        raise DomainError("live_session_not_live", "This live session has not started.")
    if session.status != LIVE or now >= session.ends_at:
        raise DomainError("live_session_not_live", "This live session is over.")
    return session


def _in_lineup(session, sku_id):
    item = next((item for item in session.lineup if item["sku_id"] == sku_id), None)
    if item is None:
        raise DomainError("not_found", f"SKU {sku_id} is not in this live session.")
    return item


def _earner(session, member):
    if settings.live_commission_to == "bound_guide":
        return member.guide_id
    return session.host_id


class LiveChannel(HotStockChannel):
    name = "live"
    unkeyed = (TOKEN,)  # a retry may carry a fresh token

    def quote(self, member_id, request, now):
        from chalicelib.members.reading import get_member

        session_id = request["live_session_id"]
        sessions.verify_token(request.get(TOKEN), member_id, session_id, FixedClock(now))
        session = _live_session(session_id, now)
        if request["store_id"] not in session.stores:
            raise DomainError("validation_error",
                              "This live session does not sell in this store.")
        quantity = request["quantity"]
        item = _in_lineup(session, request["sku_id"])
        pool = sessions.pool(session, request["sku_id"])
        plan = Takes(pool, session.shard_count, quantity,
                     takes_from(pool, session.shard_count, quantity))
        line = promotions.priced_line(session.lineup, item["sku_id"], quantity,
                                      "live_price_fen", "live session")
        member = get_member(member_id)
        breakdown = self.price(member, line, request["store_id"],
                               promotions.fulfilment_for(session.stock_from, request), now)
        return Quote(breakdown, request["store_id"], session.stock_from, member.openid,
                     _earner(session, member), settings.flash_pay_minutes,
                     {"live_session_id": session.session_id, "hot_takes": hot_takes(plan)},
                     plan)

    def reserve_in(self, writes, order, quote, now):
        """A live order claims nothing beside its units: the order is one conditional put."""

    def refusal(self, cancelled, order, quote):
        """None: nothing of the channel's is in the order's transaction."""
        return None

    def give_back_in(self, writes, order, reason, now):
        """An unpaid live order's units: back to their shards while the session has not
        given its units back (a condition on the session), else to regular stock."""
        session = sessions.get(order.live_session_id)
        line = order.breakdown["lines"][0]
        self.give_back_units_in(writes, order, session, session.session_id,
                                sessions.pool(session, line["sku_id"]))


LIVE_ROOM = LiveChannel()


def buy(member_id, session_id, idempotency_key, request, clock=system_clock):
    """Places the live order once per Idempotency-Key: (order, created). The live token is
    not part of what the key stands for (a retry may carry a fresh one)."""
    return placing.place(LIVE_ROOM, member_id, idempotency_key,
                         {"live_session_id": session_id, **request}, clock)
