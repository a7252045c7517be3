"""What follows each state change: the one table of event kinds and their subscribers, in the
order they run (db/events.py delivers them until all have run). Modules are imported when an
event is first delivered, so importing this costs nothing (and infra's reach of a function
follows the module names written here).

Every subscriber is idempotent: a marker per source (points, growth, a guide's sale, a live
room's figures, a contact's result, a message) or a conditional write, so it may run again
after a failure and change nothing more."""
from functools import lru_cache
from importlib import import_module

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock

ORDER_PAID, REFUND_SETTLED, MEMBERS_MERGED = "order_paid", "refund_settled", "members_merged"

# kind: (the module of its subscribers, the loader of their arguments, [(name, subscriber)])
_KINDS = {
    ORDER_PAID: ("chalicelib.orders.payments", "paid_order", [
        ("loyalty", "earn_loyalty"),
        ("group", "fill_group"),
        ("live_figures", "count_live_sale"),
        ("reactivation", "count_reactivation"),
        ("commissions", "record_commissions"),
        ("notification", "tell_paid"),
    ]),
    REFUND_SETTLED: ("chalicelib.orders.refunds", "settled_refund", [
        ("loyalty", "take_back_loyalty"),
        ("commissions", "take_back_commissions"),
        ("notification", "tell_refunded"),
    ]),
    MEMBERS_MERGED: ("chalicelib.members.phone", "merged_members", [
        ("sessions", "carry_over_sessions"),
        ("points", "carry_over_points"),
        ("growth", "carry_over_growth"),
    ]),
}


@lru_cache(maxsize=1)
def kinds():
    from chalicelib.db.events import Kind

    resolved = {}
    for kind, (module_name, load, subscribers) in _KINDS.items():
        module = import_module(module_name)
        resolved[kind] = Kind(getattr(module, load),
                              tuple((name, getattr(module, function))
                                    for name, function in subscribers))
    return resolved


def deliver(kind, clock=system_clock, **subject):
    """Runs what the event of this kind and subject still has to run (nothing if it is
    done). Never raises; True when nothing is left."""
    from chalicelib.db import events

    return events.deliver(events.event_key(kind, subject), kinds(), clock)


def pending(kind, **subject):
    from chalicelib.db import events

    return events.pending(kind, **subject)


def run_job(clock=system_clock):
    """Every minute: the events due (their first delivery failed, or never finished)."""
    from chalicelib.db import events

    delivered, left = events.deliver_due(kinds(), clock)
    logs.info("job_done", job="events", delivered=delivered, left=left)
    return delivered, left


# The channels an order is bought through (orders/channels.py): name → the channel object,
# imported on the first order of that channel (infra's reach of a function follows these
# imports). Adding a channel: its function here, and its line in _channels().
def _mall():
    from chalicelib.mall.channel import MALL

    return MALL


def _flash_sale():
    from chalicelib.promotions.flash.buying import FLASH_SALE

    return FLASH_SALE


def _group_buy():
    from chalicelib.promotions.groups.joining import GROUP_BUY

    return GROUP_BUY


def _live():
    from chalicelib.promotions.live.buying import LIVE_ROOM

    return LIVE_ROOM


def _channels():
    return {"mall": _mall, "flash_sale": _flash_sale, "group_buy": _group_buy, "live": _live}


def install():
    from chalicelib.orders import channels

    for name, resolve in _channels().items():
        channels.register(name, resolve)


install()
