"""What follows each state change: the one table of event kinds and their subscribers, in the
order they run, the consumers of each streamed table, and the channels orders are bought
through. order_paid comes from the orders table's stream (db/streams.py; its consumer runs the
kind's subscribers), the other kinds from the events outbox (db/events.py delivers them until
all have run). `install()` (run on import, by app.py) hands them to the kernel; the modules
named here are imported when an event is first delivered, so importing this costs nothing
(and infra's reach of a function follows the imports written here).

Every subscriber is idempotent: a marker per source (points, growth, a guide's sale, a live
room's figures, a contact's result, a message) or a conditional write, so it may run again
after a failure and change nothing more. A subscriber's name is what a pending event
remembers as done: never rename one."""
from functools import lru_cache

from chalicelib.core import logs
from chalicelib.core.clock import clock as system_clock


@lru_cache(maxsize=1)
def _kinds():
    """kind → its loader and its (name, subscriber) pairs, in the order they run."""
    from chalicelib.db.events import Kind
    from chalicelib.figures import subscribers as figures
    from chalicelib.members import accounts
    from chalicelib.guides import subscribers as guides
    from chalicelib.members import phone
    from chalicelib.members import subscribers as members
    from chalicelib.notify import subscribers as notify
    from chalicelib.orders import events as orders
    from chalicelib.promotions.groups import subscribers as groups
    from chalicelib.promotions.live import subscribers as live
    from chalicelib.reactivation import results as reactivation

    refunded = Kind(orders.refunded_order, (
        ("loyalty", members.take_back_on_refund),
        ("commissions", guides.take_back_on_refund),
        ("notification", notify.tell_refunded),
    ))
    return {
        # From the orders stream (_stream_consumers); an event written before it, by the job.
        orders.ORDER_PAID: Kind(orders.paid_order, (
            ("points_entry", members.record_points_entry),
            ("loyalty", members.count_activity),
            ("group", groups.fill_on_payment),
            ("live_figures", live.count_payment),
            ("reactivation", reactivation.on_paid),
            ("commissions", guides.record_on_payment),
            ("notification", notify.tell_paid),
        )),
        orders.ORDER_REFUNDED: refunded,
        orders.REFUND_SETTLED: refunded,  # its former name: events still pending under it
        accounts.MEMBER_SIGNED_IN: Kind(accounts.signed_in, (
            ("figures", figures.count_sign_in),
        )),
        phone.MEMBERS_MERGED: Kind(phone.merged_members, (
            ("sessions", phone.carry_over_sessions),
            ("points", phone.carry_over_points),
            ("growth", phone.carry_over_growth),
        )),
    }


@lru_cache(maxsize=1)
def _stream_consumers():
    """Streamed table (Meta.table), or a feed of its own on a table's stream ("figures", on
    the orders', chalicelib/jobs/streams.py) → its (name, consumer(changes, clock)) pairs, in
    the order they run. A name is what the logs call a consumer that failed."""
    from chalicelib.figures import subscribers as figures
    from chalicelib.orders import events as orders
    from chalicelib.orders import takes

    return {"orders": (("order_paid", orders.deliver_paid_orders),),
            "figures": (("figures", figures.count_orders),),
            "store-stock": (("unclaimed_takes", takes.check_takes),),
            "stock-shards": (("unclaimed_takes", takes.check_takes),)}


@lru_cache(maxsize=1)
def _counters():
    """The items orders take units from (orders/takes.py): table → (model, its counter)."""
    from chalicelib.catalog.models import StoreStock
    from chalicelib.promotions.hotstock import StockShard

    return {"store-stock": (StoreStock, "quantity"), "stock-shards": (StockShard, "remaining")}


def run_job(clock=system_clock):
    """Every minute: the events due (their first delivery failed, or never finished)."""
    from chalicelib.db import events

    delivered, left = events.deliver_due(_kinds(), clock)
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


@lru_cache(maxsize=1)
def _payment_writes():
    """What a payment earns, written in the transaction that marks the order paid (counted
    once by its condition): functions (writes, order, now) → what the order keeps."""
    from chalicelib.guides import subscribers as guides
    from chalicelib.members import subscribers as members

    return (members.earn_in_payment, guides.earners_in_payment)


def _count_imported(members, at):
    """An import wrote these members: the retail figures count them new."""
    from chalicelib.figures import traffic

    traffic.count_imported(members, at)


def install():
    """Hands the kernel the subscribers of every event, the consumers of every stream, the
    payment's writes, the stock counters and the channels (each resolved on first use)."""
    from chalicelib.db import events, streams
    from chalicelib.members import imported
    from chalicelib.orders import channels, takes
    from chalicelib.orders import events as order_events

    events.use(_kinds)
    imported.use_counter(_count_imported)
    streams.use(_stream_consumers)
    order_events.use_payment_writes(_payment_writes)
    takes.use_counters(_counters)
    for name, resolve in _channels().items():
        channels.register(name, resolve)


install()
