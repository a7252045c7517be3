"""What follows each state change: the one table of event kinds and their subscribers, in the
order they run (db/events.py delivers them until all have run). Names are resolved when an
event is first delivered, so importing this costs nothing.

Every subscriber is idempotent: a marker per source (points, growth, a guide's sale, a live
room's figures, a contact's result, a message) or a conditional write, so it may run again
after a failure and change nothing more."""
from functools import lru_cache
from importlib import import_module

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock

ORDER_PAID, REFUND_SETTLED, MEMBERS_MERGED = "order_paid", "refund_settled", "members_merged"

_KINDS = {
    ORDER_PAID: ("chalicelib.checkout.payments:paid_order", [
        ("loyalty", "chalicelib.checkout.payments:earn_loyalty"),
        ("group", "chalicelib.checkout.payments:fill_group"),
        ("live_figures", "chalicelib.checkout.payments:count_live_sale"),
        ("reactivation", "chalicelib.checkout.payments:count_reactivation"),
        ("commissions", "chalicelib.checkout.payments:record_commissions"),
        ("notification", "chalicelib.checkout.payments:tell_paid"),
    ]),
    REFUND_SETTLED: ("chalicelib.checkout.refunds:settled_refund", [
        ("loyalty", "chalicelib.checkout.refunds:take_back_loyalty"),
        ("commissions", "chalicelib.checkout.refunds:take_back_commissions"),
        ("notification", "chalicelib.checkout.refunds:tell_refunded"),
    ]),
    MEMBERS_MERGED: ("chalicelib.members.phone:merged_members", [
        ("points", "chalicelib.members.phone:carry_over_points"),
        ("growth", "chalicelib.members.phone:carry_over_growth"),
    ]),
}


def _resolve(name):
    module, _, function = name.partition(":")
    return getattr(import_module(module), function)


@lru_cache(maxsize=1)
def kinds():
    from chalicelib.db.events import Kind

    return {kind: Kind(_resolve(load), tuple((name, _resolve(subscriber))
                                             for name, subscriber in subscribers))
            for kind, (load, subscribers) in _KINDS.items()}


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
